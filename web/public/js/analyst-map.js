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
  state.map = L.map("map").setView([56.0, 10.8], 7);
  state.map.attributionControl.setPrefix(false);
  const config = await GS.api("/api/v1/config", { auth: false });
  document.getElementById("credits").textContent = config.credits.join(" · ");
  state.map.attributionControl.addAttribution(config.credits[0]);
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
  cats.innerHTML = meta.incident_groups.map((g) =>
    `<label><input type="checkbox" name="category" value="${GS.escapeHtml(g.code)}" checked> ${GS.escapeHtml(g.name.da)}</label>`).join("");
  const years = document.getElementById("survey-year");
  years.innerHTML = meta.survey_years.map((y) => `<option>${y}</option>`).join("");
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
    status.textContent = `Kunne ikke hente data: ${error.message}`;
    document.body.dataset.ready = "error";
  }
}

// Quantile class breaks over the values shown (rules: layers/overlays.yaml, choropleth).
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

function drawChoropleth(data, valueOf, palette, format, popup, opacityOf = () => 0.75) {
  const conf = state.meta.choropleth;
  const colours = conf.palettes[palette];
  const breaks = classes(data.features.map((f) => valueOf(f.properties)), Math.min(conf.classes, colours.length));
  if (state.layer) state.map.removeLayer(state.layer);
  state.layer = L.geoJSON(data, {
    style: (f) => {
      const v = valueOf(f.properties);
      if (typeof v !== "number") return Object.assign({}, conf.withheld);
      return Object.assign({}, conf.outline, { fillColor: colours[classOf(v, breaks)], fillOpacity: opacityOf(f.properties) });
    },
    onEachFeature: (f, l) => l.bindPopup(popup(f.properties)),
  }).addTo(state.map);
  const legend = document.getElementById("legend");
  let lower = breaks.length ? Math.min(...data.features.map((f) => valueOf(f.properties)).filter((v) => typeof v === "number")) : 0;
  legend.innerHTML = breaks.map((b, i) => {
    const text = `${format(lower)} – ${format(b)}`;
    lower = b;
    return `<li><span class="swatch" style="background:${colours[i]};border-color:#555"></span><span>${GS.escapeHtml(text)}</span></li>`;
  }).join("") + `<li><span class="swatch" style="background:${conf.withheld.fillColor};border-color:#969696"></span><span>Tilbageholdt / ingen data</span></li>`;
}

const number = (v) => (typeof v === "number" ? v.toLocaleString("da-DK", { maximumFractionDigits: 2 }) : v);
const percent = (v) => `${(100 * v).toLocaleString("da-DK", { maximumFractionDigits: 1 })} %`;

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
      const rows = Object.entries(p.counts).map(([k, v]) => `<dt>${GS.escapeHtml(names[k] || k)}</dt><dd>${GS.escapeHtml(number(v))}</dd>`).join("");
      return `<div class="popup"><h3>${GS.escapeHtml(p.name)}</h3><dl><dt>I alt</dt><dd>${GS.escapeHtml(number(p.count))}</dd>
        <dt>Pr. km²</dt><dd>${GS.escapeHtml(number(p.per_km2 ?? "–"))}</dd>${p.per_1000 !== undefined ? `<dt>Pr. 1.000 indb.</dt><dd>${GS.escapeHtml(number(p.per_1000 ?? "–"))}</dd>` : ""}
        ${rows}</dl>${p.illustrative ? '<span class="badge illustrative">Illustrativ afgrænsning</span>' : ""}</div>`;
    });
    const total = data.total ? data.total.count : "";
    document.getElementById("status").textContent =
      `${data.features.length} områder, ${number(total)} i alt, ${GS.period(data.from, data.to)}.`;
  };
}

async function loadSurvey() {
  const metric = document.getElementById("survey-metric").value;
  const data = await api("/api/v1/overlays/survey", {
    by: document.getElementById("survey-by").value, year: document.getElementById("survey-year").value, format: "geojson",
  });
  return () => {
    const valueOf = (p) => (p[metric] ? p[metric].share : null);
    // Confidence shown as opacity: a wide 95% interval draws faintly.
    const opacityOf = (p) => {
      const ci = p[metric] && p[metric].ci95;
      return ci ? Math.max(0.2, 0.85 - 2.5 * (ci[1] - ci[0])) : 0.2;
    };
    drawChoropleth(data, valueOf, metric === "unsafe" ? "survey_unsafe" : "survey_trust", (v) => percent(v), (p) => {
      const s = p[metric];
      const body = s ? `<dl><dt>Andel</dt><dd>${percent(s.share)}</dd><dt>95 %-interval</dt><dd>${percent(s.ci95[0])} – ${percent(s.ci95[1])}</dd>
        <dt>Besvarelser</dt><dd>${GS.escapeHtml(s.n)} (effektivt ${GS.escapeHtml(number(s.n_effective))})</dd></dl>`
        : `<p>Tilbageholdt: for få besvarelser (n ${GS.escapeHtml(String(p.n))}).</p>`;
      return `<div class="popup"><h3>${GS.escapeHtml(p.name)}</h3>${body}</div>`;
    }, opacityOf);
    document.getElementById("legend").insertAdjacentHTML("beforeend",
      '<li class="ci">Lysere farve = bredere 95 %-konfidensinterval (mere usikkert).</li>');
    document.getElementById("status").textContent = `Tryghedsindeks ${data.year}: ${data.features.length} områder.`;
  };
}

async function loadStraf11() {
  const data = await api("/api/v1/overlays/straf11", { period: document.getElementById("straf11-period").value, format: "geojson" });
  return () => {
    drawChoropleth(data, (p) => p.per_1000, "straf11", number, (p) => `<div class="popup"><h3>${GS.escapeHtml(p.name)}</h3>
      <dl><dt>Anmeldte forbrydelser</dt><dd>${GS.escapeHtml(number(p.reported_offences))}</dd><dt>Pr. 1.000 indb.</dt><dd>${GS.escapeHtml(number(p.per_1000))}</dd></dl></div>`);
    document.getElementById("status").textContent = `STRAF11 ${data.period}, anmeldelser pr. 1.000 indbyggere. ${data.source}.`;
  };
}

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
    state.heat = L.heatLayer(points, Object.assign({ max }, state.meta.choropleth.heat)).addTo(state.map);
  };
}
