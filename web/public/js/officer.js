// The officer's sector page: pick or locate a Din Betjent sector; its boundary and neighbours, the zones in
// force in it and those starting or ending in the next 14 days, the officers and the station, a legend of the
// map's symbols; printable. Only the newest sector or period asked for is drawn; data is inserted as text.
"use strict";

(async function main() {
  const ROLES = ["officer", "admin"];
  // The map's size on the printed sheet (css/print.css: A4 less the page margins); set before printing, since
  // the browser tells the page it will print before it lays it out for paper.
  const PRINT_MAP = { width: "186mm", height: "95mm" };
  const SYMBOLS = {
    sector: { color: "#1d3557", weight: 4, fill: false, className: "gs-sector" },
    neighbour: { color: "#1d3557", weight: 1, dashArray: "4 4", fillOpacity: 0.03, className: "gs-neighbour" },
    incident: { radius: 4, color: "#7a0010", weight: 1, fillColor: "#e63946", fillOpacity: 0.7, className: "gs-incident" },
    report: { radius: 7, color: "#111", weight: 2, fillColor: "#ffd60a", fillOpacity: 0.9, className: "gs-report" },
  };
  const REPORT_STATUS = { open: "åben", handled: "behandlet" };
  const map = GS.createMap("map", { center: [55.68, 12.57], zoom: 12 }, { zoomSnap: 0.25 });
  let kinds = {};
  const sectorLayer = L.geoJSON(null, { style: SYMBOLS.sector }).addTo(map);
  const neighbourLayer = L.geoJSON(null, {
    style: SYMBOLS.neighbour,
    onEachFeature: (f, layer) => {
      layer.bindTooltip(() => GS.h("span", {}, f.properties.name));
      layer.on("click", () => selectSector(f.properties.code));
    },
  }).addTo(map);
  const recentLayer = L.geoJSON(null, {
    pointToLayer: (f, latlng) => L.circleMarker(latlng, f.properties.type === "insecurity_report" ? SYMBOLS.report
      : SYMBOLS.incident),
    onEachFeature: (f, layer) => layer.bindPopup(() => recentPopup(f.properties)),
  });
  let overlayCatalogue = null;
  const zoneLayer = L.geoJSON(null, {
    style: (f) => Object.assign(GS.styleFor(kinds, f), { className: "gs-zone" }),
    onEachFeature: (f, layer) => layer.bindPopup(() => GS.zonePopup(kinds, f.properties)),
  }).addTo(map);
  const sectorRequests = GS.latest();
  const recentRequests = GS.latest();

  await GS.staffPage(ROLES, start);

  async function start(me) {
    kinds = await GS.kinds();
    const sectors = await GS.api("/api/v1/sectors?simplify=20");
    const select = document.getElementById("sector-select");
    GS.fill(select, sectors.features.map((f) => GS.h("option", { value: f.properties.code }, f.properties.name)));
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
    until.addEventListener("change", () => {
      // a year typed digit by digit ("0002-…") is not a date to ask about
      const year = Number(until.value.slice(0, 4));
      if (until.value && (year < 1990 || year > 2100)) return;
      loadRecent(document.getElementById("sector-select").value);
    });
    GS.addReferenceLayers(map, await GS.api("/api/v1/config", { auth: false })).catch(() => {});
    if (wanted) await selectSector(wanted);
  }

  async function selectSector(code) {
    const ticket = sectorRequests.start();
    let body;
    try {
      body = await GS.api(`/api/v1/sectors/${encodeURIComponent(code)}?days=14`, { signal: ticket.signal });
    } catch (error) {
      if (ticket.current()) document.getElementById("locate-status").textContent = `${GS.t("error")}: ${GS.errorText(error)}`;
      return;
    }
    if (!ticket.current()) return; // another sector was picked meanwhile
    document.getElementById("sector-select").value = code;
    history.replaceState(null, "", `#sector=${encodeURIComponent(code)}`);
    sectorLayer.clearLayers().addData(body.sector);
    neighbourLayer.clearLayers().addData(body.neighbours);
    zoneLayer.clearLayers().addData(body.zones_in_force);
    renderSheet(body);
    document.getElementById("sheet").hidden = false;
    fitSector();
    await loadRecent(code);
    if (ticket.current()) document.body.dataset.ready = "true";
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

  // A small drawing of a map symbol for the legend (the same style as on the map).
  function symbol(style, shape) {
    const draw = shape === "dot"
      ? GS.svg("circle", { cx: 9, cy: 7, r: style.radius, stroke: style.color, "stroke-width": style.weight,
        fill: style.fillColor, "fill-opacity": style.fillOpacity })
      : shape === "area"
        ? GS.svg("rect", { x: 2, y: 2, width: 14, height: 10, stroke: style.color, "stroke-width": 2,
          fill: style.fillColor || style.color, "fill-opacity": 0.35 })
        : GS.svg("line", { x1: 1, y1: 7, x2: 17, y2: 7, stroke: style.color, "stroke-width": Math.max(2, style.weight),
          "stroke-dasharray": style.dashArray || null });
    return GS.svg("svg", { width: 18, height: 14, viewBox: "0 0 18 14", "aria-hidden": "true" }, draw);
  }

  function renderLegend(body) {
    const kindsShown = [...new Set(body.zones_in_force.features.map((f) => f.properties.kind))];
    const rows = [
      [symbol(SYMBOLS.sector, "line"), "Sektorens grænse", "sector boundary"],
      [symbol(SYMBOLS.neighbour, "line"), "Nabosektorer (klik for at skifte)", "neighbouring sectors"],
      ...kindsShown.map((code) => [symbol(GS.styleFor(kinds, { properties: { kind: code } }), "area"),
        `Zone: ${GS.kindName(kinds, code)}`, null]),
      [symbol(SYMBOLS.incident, "dot"), "Hændelse (anmeldelse) de sidste 30 dage", "incident, last 30 days"],
      [symbol(SYMBOLS.report, "dot"), "Åben utryghedsmelding", "open insecurity report"],
    ];
    GS.fill(document.getElementById("map-legend"), rows.map(([icon, da, en]) => GS.h("li", {}, icon,
      GS.h("span", {}, da, en ? [" / ", GS.h("span", { lang: "en" }, en)] : null))));
  }

  function renderSheet(body) {
    const p = body.sector.properties;
    document.getElementById("sector-name").textContent = p.name;
    document.getElementById("sector-meta").textContent = [p.code, p.kommune, `${GS.number(p.area_km2)} km²`,
      GS.dateTime(body.at), p.illustrative ? GS.t("illustrative") : null].filter(Boolean).join(" · ");
    const st = body.station;
    const phone = (number) => GS.h("a", { href: `tel:${number.replace(/\s/g, "")}` }, number);
    GS.fill(document.getElementById("contacts"),
      GS.h("p", {}, GS.h("strong", {}, st.name), GS.h("br"), st.address || "",
        st.phone ? [GS.h("br"), `${GS.t("phone")}: `, phone(st.phone)] : null,
        st.email ? [GS.h("br"), `${GS.t("email")}: `, GS.h("a", { href: `mailto:${st.email}` }, st.email)] : null),
      GS.h("ul", { class: "officers" }, body.officers.map((o) => GS.h("li", {}, GS.h("strong", {}, o.name), `, ${o.title}`,
        o.phone ? [" · ", phone(o.phone)] : null,
        o.email ? [" · ", GS.h("a", { href: `mailto:${o.email}` }, o.email)] : null))));
    const zones = body.zones_in_force.features;
    GS.fill(document.querySelector("#zones-table tbody"), zones.length
      ? zones.map((f) => GS.h("tr", {}, GS.h("th", { scope: "row" }, f.properties.name),
        GS.h("td", {}, GS.kindName(kinds, f.properties.kind)),
        GS.h("td", {}, f.properties.decision_ref ? `${f.properties.decision_ref}: ` : null, GS.versionPeriodEl(f.properties),
          GS.continuation(f.properties) ? [GS.h("br"), GS.h("strong", {}, GS.continuation(f.properties))] : null)))
      : GS.h("tr", {}, GS.h("td", { colspan: 3 }, GS.t("noZones"))));
    GS.fill(document.getElementById("upcoming"), body.upcoming.length
      ? body.upcoming.map((u) => GS.h("li", {}, `${u.name} (${u.kind_name}): ${u.change === "starts" ? "starter" : "ophører"} `,
        GS.h("span", { title: u.at }, GS.dateTime(u.at))))
      : GS.h("li", {}, "Ingen / ", GS.h("span", { lang: "en" }, "none")));
    renderLegend(body);
  }

  // The last 30 days of incidents and the open insecurity reports in the sector (officers: own politikreds).
  async function loadRecent(code) {
    const ticket = recentRequests.start();
    const until = document.getElementById("recent-until").value;
    const params = new URLSearchParams({ days: 30 });
    if (until) params.set("until", `${until}T23:59:59`);
    const summary = document.getElementById("recent-summary");
    try {
      const body = await GS.api(`/api/v1/overlays/sectors/${encodeURIComponent(code)}/recent?${params}`, { signal: ticket.signal });
      if (!ticket.current()) return;
      recentLayer.clearLayers().addData(body.features).addTo(map);
      summary.textContent = `${GS.countText(body.incidents.count, "hændelse", "hændelser")} ` +
        `${GS.dateText(body.from)} til og med ${GS.lastDay(body.to)}; ` +
        `${GS.countText(body.open_reports.count, "åben utryghedsmelding", "åbne utryghedsmeldinger")}`;
      const groups = Object.fromEntries(overlayCatalogue.incident_groups.map((g) => [g.code, g.name[GS.lang]]));
      GS.fill(document.getElementById("recent-groups"), Object.entries(body.incidents.by_group || {})
        .map(([group, n]) => GS.h("li", {}, `${groups[group] || group}: ${GS.number(n, 0)}`)));
      const reports = body.features.filter((f) => f.properties.type === "insecurity_report");
      GS.fill(document.getElementById("open-reports"), reports.length
        ? reports.map((f) => GS.h("li", {}, `${reportCategory(f.properties.category)}, ${GS.dateText(f.properties.reported_on)}: `,
          f.properties.text || ""))
        : GS.h("li", {}, "Ingen / ", GS.h("span", { lang: "en" }, "none")));
    } catch (error) {
      if (!ticket.current()) return;
      recentLayer.clearLayers();
      summary.textContent = `${GS.t("error")}: ${GS.errorText(error)}`;
    }
  }

  function reportCategory(code) {
    const hit = overlayCatalogue.insecurity_report_categories.find((c) => c.code === code);
    return hit ? hit.name[GS.lang] : code;
  }

  function recentPopup(p) {
    if (p.type === "insecurity_report") {
      return GS.h("div", { class: "popup" }, GS.h("h2", {}, "Utryghedsmelding"), GS.h("p", {}, reportCategory(p.category)),
        GS.h("p", {}, p.text || ""), GS.h("p", {}, `${GS.dateText(p.reported_on)} · ${REPORT_STATUS[p.status] || p.status}`));
    }
    const leaves = overlayCatalogue.incident_groups.flatMap((g) => g.categories);
    const name = leaves.find((c) => c.code === p.category)?.name[GS.lang] || p.category;
    return GS.h("div", { class: "popup" }, GS.h("h2", {}, name), GS.h("p", {}, GS.dateTime(p.occurred_at)));
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
          say(`Din position (${GS.number(lat, 4)}, ${GS.number(lon, 4)}) ligger ikke i nogen Din Betjent-sektor.`);
          return;
        }
        await selectSector(body.sector.code);
        say(`Din position ligger i ${body.sector.name}.`);
      } catch (error) {
        say(`Kunne ikke slå positionen op: ${GS.errorText(error)}`);
      }
    }, (error) => say(`Kunne ikke finde din position: ${error.message}`), { timeout: 15000 });
  }
})();
