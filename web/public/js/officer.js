// The officer's sector page: pick or locate a Din Betjent sector; its boundary and neighbours, the zones in
// force in it and those starting or ending in the next 14 days, the officers and the station; printable.
"use strict";

(async function main() {
  const ROLES = ["officer", "admin"];
  // The map's size on the printed sheet (css/print.css: A4 less the page margins); set before printing, since
  // the browser tells the page it will print before it lays it out for paper.
  const PRINT_MAP = { width: "186mm", height: "100mm" };
  const map = GS.createMap("map", { center: [55.68, 12.57], zoom: 12 }, { zoomSnap: 0.25 });
  let kinds = {};
  const sectorLayer = L.geoJSON(null, { style: { color: "#1d3557", weight: 4, fill: false, className: "gs-sector" } })
    .addTo(map);
  const neighbourLayer = L.geoJSON(null, {
    style: { color: "#1d3557", weight: 1, dashArray: "4 4", fillOpacity: 0.03, className: "gs-neighbour" },
    onEachFeature: (f, layer) => {
      layer.bindTooltip(f.properties.name);
      layer.on("click", () => selectSector(f.properties.code));
    },
  }).addTo(map);
  const recentLayer = L.geoJSON(null, {
    pointToLayer: (f, latlng) => L.circleMarker(latlng, f.properties.type === "insecurity_report"
      ? { radius: 7, color: "#111", weight: 2, fillColor: "#ffd60a", fillOpacity: 0.9, className: "gs-report" }
      : { radius: 4, color: "#7a0010", weight: 1, fillColor: "#e63946", fillOpacity: 0.7, className: "gs-incident" }),
    onEachFeature: (f, layer) => layer.bindPopup(() => recentPopup(f.properties)),
  });
  let overlayCatalogue = null;
  const zoneLayer = L.geoJSON(null, {
    style: (f) => Object.assign(GS.styleFor(kinds, f), { className: "gs-zone" }),
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
    window.addEventListener("beforeprint", () => fitForPrint(true));
    window.addEventListener("afterprint", () => fitForPrint(false));
    window.matchMedia("print").addEventListener("change", (event) => fitForPrint(event.matches));
    overlayCatalogue = await GS.api("/api/v1/overlays");
    const until = document.getElementById("recent-until");
    until.value = GS.localInputValue().slice(0, 10);
    until.addEventListener("change", () => loadRecent(document.getElementById("sector-select").value));
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
    renderSheet(body);
    document.getElementById("sheet").hidden = false;
    fitSector();
    await loadRecent(code);
    document.body.dataset.ready = "true";
  }

  // The header and the panel may have changed the map's size since it was made (the controls appear after
  // login, and wrap on a phone): measure again before fitting, or the sector is cut off.
  function fitSector() {
    map.invalidateSize({ animate: false });
    if (sectorLayer.getLayers().length) map.fitBounds(sectorLayer.getBounds(), { padding: [16, 16], animate: false });
  }

  function fitForPrint(printing) {
    const element = map.getContainer();
    element.style.width = printing ? PRINT_MAP.width : "";
    element.style.height = printing ? PRINT_MAP.height : "";
    fitSector();
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
          <td>${f.properties.decision_ref ? `${GS.escapeHtml(f.properties.decision_ref)}: ` : ""}${GS.escapeHtml(
            GS.versionPeriod(f.properties))}${GS.continuation(f.properties)
            ? `<br><strong>${GS.escapeHtml(GS.continuation(f.properties))}</strong>` : ""}</td></tr>`).join("")
      : `<tr><td colspan="3">${GS.escapeHtml(GS.t("noZones"))}</td></tr>`;
    document.getElementById("upcoming").innerHTML = body.upcoming.length
      ? body.upcoming.map((u) => `<li>${GS.escapeHtml(u.name)} (${GS.escapeHtml(u.kind_name)}):
          ${u.change === "starts" ? "starter" : "ophører"} ${GS.escapeHtml(GS.dateTime(u.at))}</li>`).join("")
      : "<li>Ingen / none</li>";
  }

  // The last 30 days of incidents and the open insecurity reports in the sector (officers: own politikreds).
  async function loadRecent(code) {
    const until = document.getElementById("recent-until").value;
    const params = new URLSearchParams({ days: 30 });
    if (until) params.set("until", `${until}T23:59:59`);
    const summary = document.getElementById("recent-summary");
    try {
      const body = await GS.api(`/api/v1/overlays/sectors/${encodeURIComponent(code)}/recent?${params}`);
      recentLayer.clearLayers().addData(body.features).addTo(map);
      summary.textContent = `${body.incidents.count} hændelser ${GS.dateTime(body.from).replace(/ kl\..*/, "")} – ` +
        `${GS.dateTime(body.to).replace(/ kl\..*/, "")}; ${body.open_reports.count} åbne utryghedsmeldinger`;
      const groups = Object.fromEntries(overlayCatalogue.incident_groups.map((g) => [g.code, g.name[GS.lang]]));
      document.getElementById("recent-groups").innerHTML = Object.entries(body.incidents.by_group || {})
        .map(([group, n]) => `<li>${GS.escapeHtml(groups[group] || group)}: ${n}</li>`).join("");
      const reports = body.features.filter((f) => f.properties.type === "insecurity_report");
      document.getElementById("open-reports").innerHTML = reports.length
        ? reports.map((f) => `<li>${GS.escapeHtml(reportCategory(f.properties.category))}, ${GS.escapeHtml(
          f.properties.reported_on || "")}: ${GS.escapeHtml(f.properties.text || "")}</li>`).join("")
        : "<li>Ingen / none</li>";
    } catch (error) {
      recentLayer.clearLayers();
      summary.textContent = `${GS.t("error")}: ${error.message}`;
    }
  }

  function reportCategory(code) {
    const hit = overlayCatalogue.insecurity_report_categories.find((c) => c.code === code);
    return hit ? hit.name[GS.lang] : code;
  }

  function recentPopup(p) {
    if (p.type === "insecurity_report") {
      return `<div class="popup"><h3>Utryghedsmelding</h3><p>${GS.escapeHtml(reportCategory(p.category))}</p>
        <p>${GS.escapeHtml(p.text || "")}</p><p>${GS.escapeHtml(p.reported_on || "")} · ${GS.escapeHtml(p.status)}</p></div>`;
    }
    const leaves = overlayCatalogue.incident_groups.flatMap((g) => g.categories);
    const name = leaves.find((c) => c.code === p.category)?.name[GS.lang] || p.category;
    return `<div class="popup"><h3>${GS.escapeHtml(name)}</h3><p>${GS.escapeHtml(GS.dateTime(p.occurred_at))}</p></div>`;
  }

  // The officer's position → the sector there; say what happened when it fails or lies outside every sector.
  function locate() {
    const status = document.getElementById("locate-status");
    const say = (text) => { status.textContent = text; };
    if (!navigator.geolocation) { say("Positionen er ikke tilgængelig i denne browser."); return; }
    say("Finder din position …");
    navigator.geolocation.getCurrentPosition(async (pos) => {
      try {
        const { latitude: lat, longitude: lon } = pos.coords;
        const body = await GS.api(`/api/v1/lookup?lat=${lat.toFixed(6)}&lon=${lon.toFixed(6)}`);
        if (!body.sector) {
          say(`Din position (${lat.toFixed(4)}, ${lon.toFixed(4)}) ligger ikke i nogen Din Betjent-sektor.`);
          return;
        }
        await selectSector(body.sector.code);
        say(`Din position ligger i ${body.sector.name}.`);
      } catch (error) {
        say(`Kunne ikke slå positionen op: ${error.message}`);
      }
    }, (error) => say(`Kunne ikke finde din position: ${error.message}`), { timeout: 15000 });
  }
})();
