// The analyst map: choropleth of any count aggregate with a classed legend, heat layer of incidents, time and
// category filters, the Tryghedsindeks survey layer with its confidence shown, and STRAF11.
// Staff pages sign in with an API token kept in sessionStorage ("geoservice.token"); without a valid token the
// page shows a refusal and draws no data.
"use strict";

const TOKEN_KEY = "geoservice.token";
const STAFF = ["analyst", "legal", "admin"];
const state = { token: null, meta: null, map: null, layer: null, heat: null };

function authHeaders() {
  return { headers: { Authorization: `Bearer ${state.token}` } };
}

function api(path, params = {}) {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== null && v !== undefined && v !== ""));
  return GS.getJSON(`${path}${query.toString() ? "?" + query : ""}`, authHeaders());
}

function refuse(message) {
  document.getElementById("app").hidden = true;
  document.getElementById("login").hidden = false;
  document.getElementById("login-message").textContent = message;
  document.body.dataset.ready = "refused";
}

async function main() {
  document.getElementById("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, document.getElementById("token").value.trim());
    start();
  });
  document.getElementById("logout").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    window.location.reload();
  });
  await start();
}

async function start() {
  state.token = sessionStorage.getItem(TOKEN_KEY);
  if (!state.token) {
    refuse("Du skal logge ind med en API-nøgle for at se analysekortet. (Sign in with an API token.)");
    return;
  }
  let meta;
  try {
    meta = await api("/api/v1/overlays");
  } catch (error) {
    refuse(error.status === 401
      ? "Adgang nægtet: API-nøglen er ukendt, tilbagekaldt eller udløbet. (Access refused: unknown token.)"
      : `Kunne ikke kontrollere nøglen: ${error.message}`);
    return;
  }
  if (!STAFF.includes(meta.role)) {
    refuse(`Adgang nægtet: analysekortet er for analytikere, jurister og administratorer; denne nøgle har rollen ${meta.role}. (Access refused.)`);
    return;
  }
  state.meta = meta;
  document.getElementById("login").hidden = true;
  document.getElementById("app").hidden = false;
  document.getElementById("who").textContent = `Rolle: ${meta.role}`;
  await setUp();
}

async function setUp() {
  const meta = state.meta;
  if (!state.map) {
    state.map = L.map("map").setView([56.0, 10.8], 7);
    state.map.attributionControl.setPrefix(false);
    const config = await GS.getJSON("/api/v1/config");
    document.getElementById("credits").textContent = config.credits.join(" · ");
    state.map.attributionControl.addAttribution(config.credits[0]);
    await GS.addReferenceLayers(state.map, config);
  }
  const last = meta.incidents.last ? GS.localParts(meta.incidents.last).year : new Date().getFullYear();
  document.getElementById("from").value = `${last}-01-01`;
  document.getElementById("to").value = `${last}-12-31`;
  const cats = document.getElementById("categories");
  cats.innerHTML = meta.incident_groups.map((g) =>
    `<label><input type="checkbox" name="category" value="${g.code}" checked> ${GS.escapeHtml(g.name.da)}</label>`).join("");
  const years = document.getElementById("survey-year");
  years.innerHTML = meta.survey_years.map((y) => `<option>${y}</option>`).join("");
  years.value = meta.survey_years[meta.survey_years.length - 1];
  document.getElementById("straf11-period").value = meta.straf11_quarters ? meta.straf11_quarters[1] : "";
  for (const el of document.querySelectorAll(".panel select, .panel input")) {
    el.addEventListener("change", () => redraw());
  }
  state.map.on("moveend", () => {
    if (document.getElementById("by").value === "grid100m" || document.getElementById("heat").checked) redraw();
  });
  await redraw();
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
  const status = document.getElementById("status");
  const kind = selectedLayer();
  for (const name of ["counts", "survey", "straf11"]) {
    document.getElementById(`${name}-controls`).hidden = name !== kind;
  }
  status.textContent = "Henter …";
  try {
    if (state.layer) state.map.removeLayer(state.layer);
    if (kind === "counts") await drawCounts();
    else if (kind === "survey") await drawSurvey();
    else await drawStraf11();
    await drawHeat();
    document.body.dataset.ready = "true";
  } catch (error) {
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
    return `<li><span class="swatch" style="background:${colours[i]};border-color:#555"></span><span>${text}</span></li>`;
  }).join("") + `<li><span class="swatch" style="background:${conf.withheld.fillColor};border-color:#969696"></span><span>Tilbageholdt / ingen data</span></li>`;
}

const number = (v) => (typeof v === "number" ? v.toLocaleString("da-DK", { maximumFractionDigits: 2 }) : v);
const percent = (v) => `${(100 * v).toLocaleString("da-DK", { maximumFractionDigits: 1 })} %`;

async function drawCounts() {
  const by = document.getElementById("by").value;
  const measure = document.getElementById("measure").value;
  const source = document.getElementById("source").value;
  const params = { ...countParams(source), by, format: "geojson", bbox: by === "grid100m" ? bbox() : null };
  const data = await api("/api/v1/overlays/counts", params);
  const valueOf = (p) => (measure === "count" ? p.count : p[measure]);
  const names = Object.fromEntries(state.meta.incident_groups.map((g) => [g.code, g.name.da]));
  drawChoropleth(data, valueOf, measure === "count" ? "counts" : "rates", number, (p) => {
    const rows = Object.entries(p.counts).map(([k, v]) => `<dt>${GS.escapeHtml(names[k] || k)}</dt><dd>${number(v)}</dd>`).join("");
    return `<div class="popup"><h3>${GS.escapeHtml(p.name)}</h3><dl><dt>I alt</dt><dd>${number(p.count)}</dd>
      <dt>Pr. km²</dt><dd>${number(p.per_km2 ?? "–")}</dd>${p.per_1000 !== undefined ? `<dt>Pr. 1.000 indb.</dt><dd>${number(p.per_1000 ?? "–")}</dd>` : ""}
      ${rows}</dl>${p.illustrative ? '<span class="badge illustrative">Illustrativ afgrænsning</span>' : ""}</div>`;
  });
  const total = data.total ? data.total.count : "";
  document.getElementById("status").textContent =
    `${data.features.length} områder, ${number(total)} i alt, ${GS.danishPeriod(data.from, data.to)}.`;
}

async function drawSurvey() {
  const metric = document.getElementById("survey-metric").value;
  const data = await api("/api/v1/overlays/survey", {
    by: document.getElementById("survey-by").value, year: document.getElementById("survey-year").value, format: "geojson",
  });
  const valueOf = (p) => (p[metric] ? p[metric].share : null);
  // Confidence shown as opacity: a wide 95% interval draws faintly.
  const opacityOf = (p) => {
    const ci = p[metric] && p[metric].ci95;
    return ci ? Math.max(0.2, 0.85 - 2.5 * (ci[1] - ci[0])) : 0.2;
  };
  drawChoropleth(data, valueOf, metric === "unsafe" ? "survey_unsafe" : "survey_trust", (v) => percent(v), (p) => {
    const s = p[metric];
    const body = s ? `<dl><dt>Andel</dt><dd>${percent(s.share)}</dd><dt>95 %-interval</dt><dd>${percent(s.ci95[0])} – ${percent(s.ci95[1])}</dd>
      <dt>Besvarelser</dt><dd>${s.n} (effektivt ${number(s.n_effective)})</dd></dl>`
      : `<p>Tilbageholdt: for få besvarelser (n ${GS.escapeHtml(String(p.n))}).</p>`;
    return `<div class="popup"><h3>${GS.escapeHtml(p.name)}</h3>${body}</div>`;
  }, opacityOf);
  document.getElementById("legend").insertAdjacentHTML("beforeend",
    '<li class="ci">Lysere farve = bredere 95 %-konfidensinterval (mere usikkert).</li>');
  document.getElementById("status").textContent = `Tryghedsindeks ${data.year}: ${data.features.length} områder.`;
}

async function drawStraf11() {
  const data = await api("/api/v1/overlays/straf11", { period: document.getElementById("straf11-period").value, format: "geojson" });
  drawChoropleth(data, (p) => p.per_1000, "straf11", number, (p) => `<div class="popup"><h3>${GS.escapeHtml(p.name)}</h3>
    <dl><dt>Anmeldte forbrydelser</dt><dd>${number(p.reported_offences)}</dd><dt>Pr. 1.000 indb.</dt><dd>${number(p.per_1000)}</dd></dl></div>`);
  document.getElementById("status").textContent = `STRAF11 ${data.period}, anmeldelser pr. 1.000 indbyggere. ${data.source}.`;
}

async function drawHeat() {
  if (state.heat) {
    state.map.removeLayer(state.heat);
    state.heat = null;
  }
  if (!document.getElementById("heat").checked) return;
  const data = await api("/api/v1/overlays/counts", { ...countParams("incidents"), by: "grid100m", bbox: bbox(), split: "none" });
  const points = data.areas.filter((a) => typeof a.count === "number").map((a) => [a.lat, a.lon, a.count]);
  const max = Math.max(1, ...points.map((p) => p[2]));
  state.heat = L.heatLayer(points, Object.assign({ max }, state.meta.choropleth.heat)).addTo(state.map);
}

main();
