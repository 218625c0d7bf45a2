// The officer's sector page: pick or locate a Din Betjent sector; its boundary and neighbours, the zones in
// force in it and those starting or ending in the next 14 days, the officers and the station; printable.
"use strict";

(async function main() {
  const ROLES = ["officer", "admin"];
  const map = GS.createMap("map", { center: [55.68, 12.57], zoom: 12 });
  let kinds = {};
  const sectorLayer = L.geoJSON(null, { style: { color: "#1d3557", weight: 4, fill: false } }).addTo(map);
  const neighbourLayer = L.geoJSON(null, {
    style: { color: "#1d3557", weight: 1, dashArray: "4 4", fillOpacity: 0.03 },
    onEachFeature: (f, layer) => {
      layer.bindTooltip(f.properties.name);
      layer.on("click", () => selectSector(f.properties.code));
    },
  }).addTo(map);
  const zoneLayer = L.geoJSON(null, {
    style: (f) => GS.styleFor(kinds, f),
    onEachFeature: (f, layer) => layer.bindPopup(() => GS.zonePopupHtml(kinds, f.properties)),
  }).addTo(map);

  await GS.staffPage(ROLES, start);

  async function start(me) {
    kinds = await GS.kinds();
    const sectors = await GS.api("/api/v1/sectors?simplify=20");
    const select = document.getElementById("sector-select");
    select.innerHTML = sectors.features.map((f) => `<option value="${GS.escapeHtml(f.properties.code)}">
        ${GS.escapeHtml(f.properties.name)}</option>`).join("");
    const wanted = new URLSearchParams(location.hash.slice(1)).get("sector") || me.sector || sectors.features[0]?.properties.code;
    select.addEventListener("change", () => selectSector(select.value));
    document.getElementById("controls").hidden = false;
    document.getElementById("print").addEventListener("click", () => window.print());
    document.getElementById("locate").addEventListener("click", locate);
    GS.addReferenceLayers(map, null).catch(() => {});
    if (wanted) await selectSector(wanted);
  }


  async function selectSector(code) {
    const body = await GS.api(`/api/v1/sectors/${encodeURIComponent(code)}?days=14`);
    document.getElementById("sector-select").value = code;
    history.replaceState(null, "", `#sector=${encodeURIComponent(code)}`);
    sectorLayer.clearLayers().addData(body.sector);
    neighbourLayer.clearLayers().addData(body.neighbours);
    zoneLayer.clearLayers().addData(body.zones_in_force);
    map.fitBounds(sectorLayer.getBounds(), { padding: [20, 20] });
    renderSheet(body);
    document.getElementById("sheet").hidden = false;
    document.body.dataset.ready = "true";
  }

  function renderSheet(body) {
    const p = body.sector.properties;
    document.getElementById("sector-name").textContent = p.name;
    document.getElementById("sector-meta").textContent =
      `${p.code} · ${p.kommune || ""} · ${p.area_km2} km² · ${GS.dateTime(body.at)}${p.illustrative ? ` · ${GS.t("illustrative")}` : ""}`;
    const st = body.station;
    document.getElementById("contacts").innerHTML = `
      <p><strong>${GS.escapeHtml(st.name)}</strong><br>${GS.escapeHtml(st.address || "")}
        ${st.phone ? `<br>${GS.t("phone")}: <a href="tel:${GS.escapeHtml(st.phone.replace(/\s/g, ""))}">${GS.escapeHtml(st.phone)}</a>` : ""}
        ${st.email ? `<br>${GS.t("email")}: <a href="mailto:${GS.escapeHtml(st.email)}">${GS.escapeHtml(st.email)}</a>` : ""}</p>
      <ul class="officers">${body.officers.map((o) => `<li><strong>${GS.escapeHtml(o.name)}</strong>, ${GS.escapeHtml(o.title)}
        ${o.phone ? ` · <a href="tel:${GS.escapeHtml(o.phone.replace(/\s/g, ""))}">${GS.escapeHtml(o.phone)}</a>` : ""}
        ${o.email ? ` · <a href="mailto:${GS.escapeHtml(o.email)}">${GS.escapeHtml(o.email)}</a>` : ""}</li>`).join("")}</ul>`;
    const zones = body.zones_in_force.features;
    document.querySelector("#zones-table tbody").innerHTML = zones.length
      ? zones.map((f) => `<tr><th scope="row">${GS.escapeHtml(f.properties.name)}</th>
          <td>${GS.escapeHtml(GS.kindName(kinds, f.properties.kind))}</td>
          <td>${GS.escapeHtml(GS.period(f.properties.valid_from, f.properties.designation_end || f.properties.valid_to))}</td></tr>`).join("")
      : `<tr><td colspan="3">${GS.escapeHtml(GS.t("noZones"))}</td></tr>`;
    document.getElementById("upcoming").innerHTML = body.upcoming.length
      ? body.upcoming.map((u) => `<li>${GS.escapeHtml(u.name)} (${GS.escapeHtml(u.kind_name)}):
          ${u.change === "starts" ? "starter" : "ophører"} ${GS.escapeHtml(GS.dateTime(u.at))}</li>`).join("")
      : "<li>Ingen / none</li>";
  }

  function locate() {
    navigator.geolocation.getCurrentPosition(async (pos) => {
      const body = await GS.api(`/api/v1/lookup?lat=${pos.coords.latitude}&lon=${pos.coords.longitude}`);
      if (body.sector) await selectSector(body.sector.code);
    });
  }
})();
