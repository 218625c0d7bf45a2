// Shared helpers for the geoservice web pages: API access, Danish date formatting, kind styles.
"use strict";

const GS = (() => {
  const MONTHS = ["januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september",
    "oktober", "november", "december"];
  const TZ = "Europe/Copenhagen";

  // Parts of an instant in Copenhagen time, whatever the browser's own time zone.
  function localParts(iso) {
    const parts = new Intl.DateTimeFormat("en-GB", {
      timeZone: TZ, year: "numeric", month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit",
      hourCycle: "h23",
    }).formatToParts(new Date(iso));
    const get = (type) => parts.find((p) => p.type === type).value;
    return { year: +get("year"), month: +get("month"), day: +get("day"), hour: get("hour"), minute: get("minute") };
  }

  // "1. september 2025 kl. 16.00"
  function danishDateTime(iso) {
    if (!iso) return "uden udløb";
    const p = localParts(iso);
    return `${p.day}. ${MONTHS[p.month - 1]} ${p.year} kl. ${p.hour}.${p.minute}`;
  }

  function danishPeriod(from, to) {
    return `${danishDateTime(from)} – ${to ? danishDateTime(to) : "uden udløb"}`;
  }

  async function getJSON(url, options = {}) {
    const response = await fetch(url, options);
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      const detail = body && body.detail ? body.detail : response.statusText;
      const error = new Error(detail);
      error.status = response.status;
      error.problem = body;
      throw error;
    }
    return body;
  }

  function escapeHtml(value) {
    return String(value ?? "").replace(/[&<>"']/g, (c) => ({
      "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
    })[c]);
  }

  async function kinds() {
    const body = await getJSON("/api/v1/kinds");
    return Object.fromEntries(body.kinds.map((k) => [k.code, k]));
  }

  function styleFor(kinds, feature) {
    const kind = kinds[feature.properties.kind];
    return Object.assign({ color: "#333", weight: 2, fillOpacity: 0.2 }, kind ? kind.style : {});
  }

  // Our own reference boundaries as the offline base layer, drawn lightly.
  async function addReferenceLayers(map, config) {
    const layers = {};
    const specs = [
      ["politikreds", "Politikredse", { color: "#44546a", weight: 1.2, fill: false }, 400],
      ["kommune", "Kommuner", { color: "#8a96a3", weight: 0.7, fill: false, dashArray: "3 3" }, 200],
      ["bydel", "Bydele (København)", { color: "#a0aab5", weight: 0.6, fill: false }, 20],
    ];
    for (const [type, label, style, simplify] of specs) {
      const data = await getJSON(`/api/v1/reference-areas?type=${type}&simplify=${simplify}`);
      layers[label] = L.geoJSON(data, { style, interactive: false }).addTo(map);
    }
    if (config && config.tile_url) {
      const tiles = L.tileLayer(config.tile_url, { attribution: config.tile_attribution, maxZoom: 19 });
      tiles.addTo(map);
      tiles.bringToBack();
      layers["Baggrundskort"] = tiles;
    }
    return layers;
  }

  return { danishDateTime, danishPeriod, getJSON, escapeHtml, kinds, styleFor, addReferenceLayers, localParts };
})();
