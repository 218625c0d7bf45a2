// The public map: published zones in force now, one colour per kind, with popups.
"use strict";

(async function main() {
  const map = L.map("map", { preferCanvas: false }).setView([55.68, 12.57], 12);
  map.attributionControl.setPrefix(false);
  const status = document.getElementById("status");

  try {
    const [kinds, config] = await Promise.all([GS.kinds(), GS.getJSON("/api/v1/config")]);
    document.getElementById("credits").textContent = config.credits.join(" · ");
    map.attributionControl.addAttribution(config.credits[0]);
    await GS.addReferenceLayers(map, config);

    const data = await GS.getJSON("/api/v1/zones?limit=1000");
    const layer = L.geoJSON(data, {
      style: (f) => GS.styleFor(kinds, f),
      onEachFeature: (f, l) => l.bindPopup(popupHtml(kinds, f.properties)),
    }).addTo(map);
    if (data.features.length) map.fitBounds(layer.getBounds(), { maxZoom: 14, padding: [20, 20] });

    const shown = new Set(data.features.map((f) => f.properties.kind));
    const legend = document.getElementById("legend");
    for (const kind of Object.values(kinds)) {
      if (!shown.has(kind.code)) continue;
      const li = document.createElement("li");
      li.innerHTML = `<span class="swatch" style="border-color:${kind.style.color};background:${kind.style.fillColor || kind.style.color}55"></span>
        <span><strong>${GS.escapeHtml(kind.name.da)}</strong><span class="meaning">${GS.escapeHtml(kind.meaning.da)}</span></span>`;
      legend.appendChild(li);
    }
    status.textContent = `${data.features.length} zoner i kraft nu.`;
    document.body.dataset.ready = "true";
  } catch (error) {
    status.textContent = `Kunne ikke hente zonerne: ${error.message}`;
    document.body.dataset.ready = "error";
  }
})();

function popupHtml(kinds, p) {
  const kind = kinds[p.kind];
  const rows = [
    ["Type", kind ? kind.name.da : p.kind],
    ["Periode", GS.danishPeriod(p.valid_from, p.valid_to)],
    ["Retsgrundlag", p.legal_basis],
    ["Afgørelse", p.decision_ref],
  ].filter(([, v]) => v);
  return `<div class="popup"><h3>${GS.escapeHtml(p.name)}</h3>
    ${p.illustrative ? '<span class="badge illustrative">Illustrativ afgrænsning</span>' : ""}
    <dl>${rows.map(([k, v]) => `<dt>${k}</dt><dd>${GS.escapeHtml(v)}</dd>`).join("")}</dl></div>`;
}
