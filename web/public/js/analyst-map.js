// The analyst map: choropleth of any count aggregate with a classed legend, heat layer of incidents, time and
// category filters, the Tryghedsindeks survey layer with its confidence shown, and STRAF11.
// The login, the refusal and the token (sessionStorage "geoservice.token") are the shared staff frame
// (GS.staffPage in common.js); without a token of one of ROLES the page shows the refusal and draws no data.
"use strict";

const ROLES = ["analyst", "legal", "admin"];
// `seq` numbers the redraws: only the latest may touch the map, so answers that arrive late (a slow request
// overtaken by a newer moveend or change) are dropped instead of leaving a stale layer behind.
const state = { meta: null, map: null, layer: null, heat: null, seq: 0, wired: false };

function api(path, params = {}) {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== null && v !== undefined && v !== ""));
  return GS.api(`${path}${query.toString() ? "?" + query : ""}`);
}

GS.staffPage(ROLES, start);

async function start() {
  const meta = await api("/api/v1/overlays");
  state.meta = meta;
  document.getElementById("app").hidden = false;
  if (!state.map) await createMap();
  fillControls(meta);
  wireControls();
  await redraw();
}

async function createMap() {
  state.map = GS.createMap("map", { center: [56.0, 10.8], zoom: 7 });
  const config = await GS.api("/api/v1/config", { auth: false });
  document.getElementById("credits").textContent = config.credits.join(" · ");
  state.map.attributionControl.addAttribution(GS.escapeHtml(config.credits[0]));
  await GS.addReferenceLayers(state.map, config);
}

function fillControls(meta) {
  // The twelve months up to the latest incident (a calendar year would open early in January on a few days).
  const p = GS.localParts(meta.incidents.last || new Date().toISOString());
  const pad = (n) => String(n).padStart(2, "0");
  const end = new Date(Date.UTC(p.year, p.month - 1, p.day));
  const start = new Date(Date.UTC(p.year - 1, p.month - 1, p.day + 1));
  const iso = (d) => `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  document.getElementById("from").value = iso(start);
  document.getElementById("to").value = iso(end);
  const cats = document.getElementById("categories");
  GS.fill(cats, meta.incident_groups.map((g) => GS.h("label", {},
    GS.h("input", { type: "checkbox", name: "category", value: g.code, checked: true }), ` ${g.name.da}`)));
  const years = document.getElementById("survey-year");
  GS.fill(years, meta.survey_years.map((y) => GS.h("option", {}, y)));
  years.value = meta.survey_years[meta.survey_years.length - 1];
  document.getElementById("straf11-period").value = meta.straf11_quarters ? meta.straf11_quarters[1] : "";
}

// Listeners are attached once per page, however often the frame runs `start`. The category checkboxes are
// redrawn by fillControls, so their changes are caught on the panel (event delegation).
function wireControls() {
  if (state.wired) return;
  state.wired = true;
  document.querySelector(".panel.analyst").addEventListener("change", (event) => {
    if (event.target.matches("select, input")) redraw();
  });
  state.map.on("moveend", () => {
    if (document.getElementById("by").value === "grid100m" || document.getElementById("heat").checked) redraw();
  });
}

function nextDay(date) {
  const [y, m, d] = date.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
}

function bbox() {
  const b = state.map.getBounds();
  return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(5)).join(",");
}

function countParams(source) {
  const categories = [...document.querySelectorAll("input[name=category]:checked")].map((c) => c.value);
  const all = categories.length === state.meta.incident_groups.length;
  return {
    source,
    from: document.getElementById("from").value,
    to: nextDay(document.getElementById("to").value),
    category: source === "incidents" && !all ? categories.join(",") || null : null,
  };
}

function selectedLayer() {
  return document.querySelector("input[name=layer]:checked").value;
}

async function redraw() {
  const seq = ++state.seq;
  const current = () => seq === state.seq;
  const status = document.getElementById("status");
  const kind = selectedLayer();
  for (const name of ["counts", "survey", "straf11"]) {
    document.getElementById(`${name}-controls`).hidden = name !== kind;
  }
  status.textContent = "Henter …";
  document.body.dataset.ready = "busy";
  try {
    // Fetch everything first; draw only if no newer redraw has started meanwhile.
    const [main, heat] = await Promise.all([
      kind === "counts" ? loadCounts() : kind === "survey" ? loadSurvey() : loadStraf11(),
      loadHeat(),
    ]);
    if (!current()) return;
    main();
    heat();
    document.body.dataset.ready = "true";
  } catch (error) {
    if (!current()) return;
    status.textContent = `Kunne ikke hente data: ${GS.errorText(error)}`;
    document.body.dataset.ready = "error";
  }
}

// Quantile class breaks over the values shown (rules: layers/overlays.yaml, choropleth). Values that count
// for nothing (an area with too few respondents) are left out, so they cannot stretch the classes.
function classes(values, count) {
  const sorted = values.filter((v) => typeof v === "number").sort((a, b) => a - b);
  if (!sorted.length) return [];
  const breaks = [];
  for (let i = 1; i <= count; i++) breaks.push(sorted[Math.min(sorted.length - 1, Math.ceil((i * sorted.length) / count) - 1)]);
  return [...new Set(breaks)];
}

function classOf(value, breaks) {
  const index = breaks.findIndex((b) => value <= b);
  return index < 0 ? breaks.length - 1 : index;
}

function swatch(fill, border, className = "swatch") {
  const span = GS.h("span", { class: className, "aria-hidden": "true" });
  span.style.background = fill;
  span.style.borderColor = border;
  return span;
}

// `options.uncertain(p)`: the area's estimate is too uncertain to read as a class (drawn hatched, with a dashed
// outline, and said in the legend); `options.small(p)`: too few answers to count (grey, outside the classes).
function drawChoropleth(data, valueOf, palette, format, popup, options = {}) {
  const conf = state.meta.choropleth;
  const colours = conf.palettes[palette];
  const counts = (p) => !options.small || !options.small(p);
  const values = data.features.filter((f) => counts(f.properties)).map((f) => valueOf(f.properties));
  const breaks = classes(values, Math.min(conf.classes, colours.length));
  // under a heat layer the areas are drawn faintly, so the heat reads on top of them
  const fillOpacity = document.getElementById("heat").checked ? 0.35 : 0.75;
  if (state.layer) state.map.removeLayer(state.layer);
  state.layer = L.geoJSON(data, {
    style: (f) => {
      const v = valueOf(f.properties);
      if (typeof v !== "number" || !counts(f.properties)) return Object.assign({}, conf.withheld);
      const style = Object.assign({}, conf.outline, { fillColor: colours[classOf(v, breaks)], fillOpacity });
      if (options.uncertain && options.uncertain(f.properties)) {
        Object.assign(style, { dashArray: "4 3", weight: 2, color: "#222", className: "gs-uncertain" });
      }
      return style;
    },
    onEachFeature: (f, l) => l.bindPopup(() => popup(f.properties)),
  }).addTo(state.map);
  const numbers = values.filter((v) => typeof v === "number");
  let lower = numbers.length ? Math.min(...numbers) : 0;
  const items = breaks.map((b, i) => {
    const text = `${format(lower)} – ${format(b)}`;
    lower = b;
    return GS.h("li", {}, swatch(colours[i], "#555"), GS.h("span", {}, text));
  });
  items.push(GS.h("li", {}, swatch(conf.withheld.fillColor, "#969696"),
    GS.h("span", {}, options.smallText || "Tilbageholdt / ingen data")));
  GS.fill(document.getElementById("legend"), items);
}

const number = (v) => GS.number(v);
const percent = (v) => `${GS.number(100 * v, 1)} %`;

// Each load* fetches its data and returns a function that draws it (called only for the latest redraw).
async function loadCounts() {
  const by = document.getElementById("by").value;
  const measure = document.getElementById("measure").value;
  const source = document.getElementById("source").value;
  const params = { ...countParams(source), by, format: "geojson", bbox: by === "grid100m" ? bbox() : null };
  const data = await api("/api/v1/overlays/counts", params);
  return () => {
    const valueOf = (p) => (measure === "count" ? p.count : p[measure]);
    const names = Object.fromEntries(state.meta.incident_groups.map((g) => [g.code, g.name.da]));
    drawChoropleth(data, valueOf, measure === "count" ? "counts" : "rates", number, (p) => {
      const rows = Object.entries(p.counts).map(([k, v]) => [GS.h("dt", {}, names[k] || k), GS.h("dd", {}, number(v))]);
      return GS.h("div", { class: "popup" }, GS.h("h2", {}, p.name), GS.h("dl", {},
        GS.h("dt", {}, "I alt"), GS.h("dd", {}, number(p.count)),
        GS.h("dt", {}, "Pr. km²"), GS.h("dd", {}, number(p.per_km2 ?? "–")),
        p.per_1000 !== undefined ? [GS.h("dt", {}, "Pr. 1.000 indb."), GS.h("dd", {}, number(p.per_1000 ?? "–"))] : null,
        rows), p.illustrative ? GS.h("span", { class: "badge illustrative" }, "Illustrativ afgrænsning") : null);
    });
    const total = data.total ? data.total.count : 0;
    document.getElementById("status").textContent =
      `${GS.countText(data.features.length, "område", "områder")}, ${number(total)} i alt, ${GS.period(data.from, data.to)}.`;
  };
}

// The survey layer: the colour is the share, and only the share. An estimate whose 95% interval is wider than
// WIDE_CI is drawn with a dashed outline (said in the legend) — not lighter, which would read as a lower share.
// Areas with fewer respondents than the survey minimum are grey and left out of the class breaks.
const WIDE_CI = 0.15;
async function loadSurvey() {
  const metric = document.getElementById("survey-metric").value;
  const data = await api("/api/v1/overlays/survey", {
    by: document.getElementById("survey-by").value, year: document.getElementById("survey-year").value, format: "geojson",
  });
  const minimum = state.meta.privacy.survey_min_respondents;
  return () => {
    const valueOf = (p) => (p[metric] ? p[metric].share : null);
    const small = (p) => typeof p.n !== "number" || p.n < minimum;
    const uncertain = (p) => { const ci = p[metric] && p[metric].ci95; return Boolean(ci) && ci[1] - ci[0] > WIDE_CI; };
    drawChoropleth(data, valueOf, metric === "unsafe" ? "survey_unsafe" : "survey_trust", (v) => percent(v), (p) => {
      const s = p[metric];
      const body = s && !small(p) ? GS.h("dl", {}, GS.h("dt", {}, "Andel"), GS.h("dd", {}, percent(s.share)),
        GS.h("dt", {}, "95 %-interval"), GS.h("dd", {}, `${percent(s.ci95[0])} – ${percent(s.ci95[1])}`),
        GS.h("dt", {}, "Besvarelser"), GS.h("dd", {}, `${GS.number(s.n, 0)} (effektivt ${number(s.n_effective)})`))
        : GS.h("p", {}, `For få besvarelser til et skøn (n ${typeof p.n === "number" ? GS.number(p.n, 0) : p.n}; mindst ${minimum}).`);
      return GS.h("div", { class: "popup" }, GS.h("h2", {}, p.name), body);
    }, { small, uncertain, smallText: `Færre end ${minimum} besvarelser / tilbageholdt` });
    const ci = GS.h("li", { class: "ci" }, swatch("transparent", "#222", "swatch dashed"),
      GS.h("span", {}, `Stiplet kant: 95 %-konfidensintervallet er bredere end ${GS.number(WIDE_CI * 100, 0)} procentpoint (usikkert skøn).`));
    document.getElementById("legend").append(ci);
    document.getElementById("status").textContent =
      `Tryghedsindeks ${data.year}: ${GS.countText(data.features.length, "område", "områder")}.`;
  };
}

async function loadStraf11() {
  const data = await api("/api/v1/overlays/straf11", { period: document.getElementById("straf11-period").value, format: "geojson" });
  return () => {
    drawChoropleth(data, (p) => p.per_1000, "straf11", number, (p) => GS.h("div", { class: "popup" }, GS.h("h2", {}, p.name),
      GS.h("dl", {}, GS.h("dt", {}, "Anmeldte forbrydelser"), GS.h("dd", {}, number(p.reported_offences)),
        GS.h("dt", {}, "Pr. 1.000 indb."), GS.h("dd", {}, number(p.per_1000)))));
    document.getElementById("status").textContent = `STRAF11 ${data.period}, anmeldelser pr. 1.000 indbyggere. ${data.source}.`;
  };
}

// The heat layer above the areas (leaflet.heat adds its canvas last in the overlay pane), with a gradient that stands out from every palette (dark
// blue through cyan to white-yellow), and the areas under it drawn faintly (drawChoropleth).
const HEAT_GRADIENT = { 0.2: "#08306b", 0.45: "#2171b5", 0.7: "#00e5ff", 0.9: "#ffff66", 1.0: "#ffffff" };
async function loadHeat() {
  const wanted = document.getElementById("heat").checked;
  const data = wanted
    ? await api("/api/v1/overlays/counts", { ...countParams("incidents"), by: "grid100m", bbox: bbox(), split: "none" })
    : null;
  return () => {
    if (state.heat) {
      state.map.removeLayer(state.heat);
      state.heat = null;
    }
    if (!data) return;
    const points = data.areas.filter((a) => typeof a.count === "number").map((a) => [a.lat, a.lon, a.count]);
    const max = Math.max(1, ...points.map((p) => p[2]));
    state.heat = L.heatLayer(points, Object.assign({ max, gradient: HEAT_GRADIENT, minOpacity: 0.35 },
      state.meta.choropleth.heat)).addTo(state.map);
    state.heat._canvas?.classList.add("gs-heat");
  };
}
