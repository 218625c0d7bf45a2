// The public map: published zones in force now or at a chosen moment, styled per kind, with a legend that
// says what each kind means, popups, "am I in a zone?", place and street search, an accessible list and a
// GeoJSON download of exactly what is shown. The view (position, zoom, time, layers, language) lives in the URL.
// Every text from the data is inserted as text (GS.h / textContent), never as markup.
"use strict";

(async function main() {
  const SMALL_ZONE_PX = 8; // a zone smaller than this on screen is also shown as a marker
  const LABEL_ZOOM = 15; // zone names are written on the map from this zoom (street level)
  const PAGE_LIMIT = 1000; // the API's largest page; `next` links are followed up to MAX_FEATURES
  const MAX_FEATURES = 10000;
  // Above this many zones in the view the zones and their markers are drawn on one canvas: an SVG element per
  // zone and per marker took 15 s for 10,000 zones (bench/map_tiles.py). Fewer, and each is an element of its
  // own (classes, tests, print).
  const CANVAS_FROM = 1000;
  const canvas = L.canvas({ padding: 0.5 });
  const MIN_YEAR = 1990, MAX_YEAR = 2100; // a year outside is a year being typed, not a moment to ask about
  const state = readHash();
  let kinds = {};
  let collection = { features: [], numberMatched: 0 };
  let loadedBounds = null; // the area the zones were fetched for (the view, padded)
  let firstDrawn = false;
  let openZoneId = null; // keeps a zone's popup open across reloads at another zoom level
  let redrawing = false;
  let pendingOpener = null; // the control that asked for a zone not yet drawn: focus returns to it
  let timeInfo = null; // the chosen moment resolved to an instant with its offset (GS.resolveWall)
  let hereTarget = null; // the place "am I in a zone?" was asked for: { lat, lon, label }
  let lastLookup = null; // the last answer, drawn again when the language changes
  let config = null;
  const zoneRequests = GS.latest();
  const lookupRequests = GS.latest();
  GS.setLang(state.lang);
  translate();
  const map = GS.createMap("map", { center: state.center, zoom: state.zoom });
  const zoneLayer = L.geoJSON(null, {
    style: (f) => Object.assign(GS.styleFor(kinds, f), { className: `gs-zone gs-zone-${f.id}`, renderer: renderer() }),
    filter: (f) => !state.hidden.has(f.properties.kind),
    onEachFeature: (f, layer) => {
      layer.bindPopup(() => GS.zonePopup(kinds, f.properties));
      layer.feature = f;
      // Leaflet gives a click on a shape to the shape, not to the map: answer "am I in a zone?" here too
      layer.on("click", (event) => lookupAt(event.latlng.lat, event.latlng.lng, GS.t("clickedPlace")));
    },
  }).addTo(map);
  // Zones too small to see at this zoom (a street zone seen from all of Denmark) get a marker of their kind's
  // colour, in a pane of its own; a click zooms to the zone and opens its popup.
  map.createPane("zone-markers");
  map.getPane("zone-markers").style.zIndex = 450;
  const markerLayer = L.layerGroup().addTo(map);
  map.on("zoomend", () => { markSmallZones(); labelZones(); });
  map.on("popupopen", (event) => { openZoneId = event.popup._source?.feature?.id ?? null; });
  map.on("popupclose", () => { if (!redrawing) openZoneId = null; });
  const hereMarker = L.circleMarker([0, 0], { radius: 7, color: "#111", fillColor: "#ffd60a", fillOpacity: 1 });
  const timeInput = document.getElementById("time");
  const timeNote = document.getElementById("time-note");
  const status = document.getElementById("status");
  const drawNote = document.getElementById("draw-note");
  setTime(state.t);

  // Zones first (time to first drawn zone), then the rest.
  const kindsPromise = GS.kinds();
  const configPromise = GS.api("/api/v1/config", { auth: false });
  kinds = await kindsPromise;
  await loadZones();
  config = await configPromise;
  renderCredits();
  map.attributionControl.addAttribution(GS.escapeHtml(config.credits[0]));
  GS.addReferenceLayers(map, config).catch((error) => console.warn("reference layers:", error.message));

  if (!state.t) timeInput.value = GS.localInputValue();
  timeInput.addEventListener("change", onTimeField);
  timeInput.addEventListener("input", onTimeField);
  document.getElementById("now").addEventListener("click", () => {
    setTime(null);
    timeInput.value = GS.localInputValue();
    timeChanged();
  });
  const langButton = document.getElementById("lang");
  updateLangButton();
  langButton.addEventListener("click", () => {
    setLanguage(state.lang === "da" ? "en" : "da");
    writeHash();
  });
  // A permalink pasted into this tab changes only the fragment: take the whole view from it.
  window.addEventListener("hashchange", () => {
    const next = readHash();
    state.hidden = next.hidden;
    if (next.lang !== state.lang) setLanguage(next.lang);
    setTime(next.t);
    if (!next.t) timeInput.value = GS.localInputValue();
    map.setView(next.center, next.zoom, { animate: false });
    timeChanged();
  });
  map.on("moveend", () => {
    writeHash();
    // the zones are fetched for the view (padded): a view beyond that area fetches again
    if (loadedBounds && !loadedBounds.contains(map.getBounds())) loadZones();
  });
  let lastTolerance = currentTolerance();
  map.on("zoomend", () => {
    const tolerance = currentTolerance();
    if (tolerance / lastTolerance > 2 || lastTolerance / tolerance > 2) {
      lastTolerance = tolerance;
      loadZones();
    }
  });
  map.on("click", (event) => lookupAt(event.latlng.lat, event.latlng.lng, GS.t("clickedPlace")));
  document.getElementById("locate").addEventListener("click", () => {
    if (!navigator.geolocation) { showHere(GS.h("p", {}, GS.t("positionFailed"))); return; }
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        map.setView([pos.coords.latitude, pos.coords.longitude], 16);
        lookupAt(pos.coords.latitude, pos.coords.longitude, GS.t("yourPosition"));
      },
      (error) => showHere(GS.h("p", {}, `${GS.t("positionFailed")}: ${error.message}`)),
    );
  });
  // a keyboard user moves the map with the arrow keys (or searches) and asks for its centre
  document.getElementById("lookup-centre").addEventListener("click", () => {
    const c = map.getCenter();
    lookupAt(c.lat, c.lng, GS.t("mapCentre"));
  });
  setupTabs();
  const searchInput = document.getElementById("search");
  GS.searchBox(searchInput, document.getElementById("search-results"), (result) => {
    GS.goTo(map, result, result.bbox ? null : hereMarker);
    if (result.type === "zone") {
      // opened now if drawn, else as soon as the zones of the new view are (redraw)
      openZoneId = Number(result.ref);
      pendingOpener = searchInput;
      zoneLayer.eachLayer((layer) => { if (layer.feature.id === openZoneId) openZone(layer); });
    } else {
      // a street, an address, a place or an area: "am I in a zone?" there, keyboard and all
      lookupAt(result.lat, result.lon, result.name);
    }
  }, () => {
    const c = map.getCenter();
    return Object.assign({ near: `${c.lng.toFixed(4)},${c.lat.toFixed(4)}` }, timeInfo ? { at: timeInfo.at } : {});
  });

  function translate() {
    GS.translatePage();
    document.title = GS.t("pageTitle");
  }

  function setLanguage(language) {
    state.lang = language;
    GS.setLang(language);
    translate();
    GS.translateMapControls(map);
    updateLangButton();
    if (timeInfo) setTime(timeInfo.requested); // the note about a repeated or skipped hour, in the new language
    renderCredits();
    render();
    if (lastLookup) showHere(lookupView(lastLookup.body, lastLookup.label));
    // a popup is drawn when it opens: open it again in the new language
    const reopen = openZoneId;
    map.closePopup();
    if (reopen !== null) zoneLayer.eachLayer((layer) => { if (layer.feature.id === reopen) layer.openPopup(); });
  }

  function renderCredits() {
    if (config) document.getElementById("credits").textContent = `${GS.t("credits")}: ${config.credits.join(" · ")}`;
  }

  // The time field as typed: a year is typed digit by digit ("0002", "0020", "0202", "2026"), and only a whole
  // date with a plausible year is a moment to ask about. Until then the map keeps what it shows, and says why.
  function onTimeField() {
    const value = timeInput.value || null;
    if (!value) return; // a field being edited (a segment cleared): the "Nu" button asks for now
    if (value === (timeInfo ? timeInfo.wall : null)) { renderTimeNote(); return; }
    if (!plausible(value)) {
      renderTimeNote(GS.t("badYear", { shown: timeInfo ? GS.dateTime(timeInfo.at) : GS.t("now").toLowerCase() }));
      return;
    }
    setTime(value);
    timeChanged();
  }

  function plausible(value) {
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(value);
    return Boolean(m) && +m[1] >= MIN_YEAR && +m[1] <= MAX_YEAR;
  }

  // A new moment: the zones of that moment, and "am I in a zone?" asked again for the same place.
  function timeChanged() {
    loadZones();
    if (hereTarget) lookupAt(hereTarget.lat, hereTarget.lon, hereTarget.label, { moveMarker: false, keepTab: true });
  }

  // The moment to show, as the field gives it ("2025-10-26T02:30") or as a permalink keeps it (with an offset
  // when the time happens twice). The API is always asked with an explicit offset.
  function setTime(value) {
    if (!value || !plausible(value)) {
      state.t = null;
      timeInfo = null;
    } else {
      const wall = value.slice(0, 16);
      timeInfo = Object.assign(GS.resolveWall(wall, value.length > 16 ? value.slice(16) : null), { requested: value });
      state.t = timeInfo.choices.length ? `${timeInfo.wall}${timeInfo.offset}` : timeInfo.wall;
      timeInput.value = timeInfo.wall;
    }
    renderTimeNote();
  }

  function renderTimeNote(warning = "") {
    const note = timeInfo && timeInfo.note;
    if (!note && !warning) {
      timeNote.hidden = true;
      GS.fill(timeNote);
      return;
    }
    timeNote.hidden = false;
    const buttons = warning || !timeInfo ? [] : timeInfo.choices.map((c) => GS.h("button", {
      type: "button", "data-offset": c.offset, "aria-pressed": String(c.offset === timeInfo.offset),
      onclick: () => { setTime(`${timeInfo.wall}${c.offset}`); timeChanged(); },
    }, c.label));
    GS.fill(timeNote, warning ? GS.h("p", { class: "warning" }, warning) : null, note ? GS.h("p", {}, note) : null,
      buttons.flatMap((b) => [b, " "]));
  }

  function currentTolerance() {
    return GS.simplifyForZoom(map.getZoom(), map.getCenter().lat);
  }

  // The zones in force in the view (padded by half a screen each way), every page of them: the `next` links
  // are followed, and if there are more than the map draws, the page says so.
  async function loadZones() {
    const ticket = zoneRequests.start();
    document.body.dataset.loading = "zones"; // until the newest request is drawn (tests wait on it, too)
    const bounds = map.getBounds().pad(0.5);
    const bbox = [bounds.getWest(), bounds.getSouth(), bounds.getEast(), bounds.getNorth()]
      .map((v, i) => Math.max(i % 2 ? -90 : -180, Math.min(i % 2 ? 90 : 180, v)).toFixed(5)).join(",");
    const params = new URLSearchParams({ limit: PAGE_LIMIT, simplify: currentTolerance(), bbox });
    if (timeInfo) params.set("at", timeInfo.at);
    try {
      let page = await GS.api(`/api/v1/zones?${params}`, { auth: false, signal: ticket.signal });
      const data = Object.assign({}, page, { features: [...page.features] });
      while (data.features.length < MAX_FEATURES) {
        const next = (page.links || []).find((l) => l.rel === "next");
        if (!next) break;
        const url = new URL(next.href, location.href); // asked of this server, whatever host the link names
        page = await GS.api(`${url.pathname}${url.search}`, { auth: false, signal: ticket.signal });
        data.features.push(...page.features);
      }
      if (!ticket.current()) return; // a newer request superseded this one
      collection = data;
      loadedBounds = bounds;
      redraw();
      if (!firstDrawn && data.features.length) {
        firstDrawn = true;
        performance.mark("gs:first-zone");
      }
      render();
      writeHash();
      delete document.body.dataset.loading;
      document.body.dataset.ready = "true";
    } catch (error) {
      if (!ticket.current()) return;
      delete document.body.dataset.loading;
      // never leave the zones of another moment on the map under an error; legend and list say the same
      collection = { features: [], numberMatched: 0, at: timeInfo ? timeInfo.at : null };
      loadedBounds = null;
      redraw();
      render();
      writeHash();
      status.textContent = `${GS.t("error")}: ${GS.errorText(error)}`;
      document.body.dataset.ready = "error";
    }
  }

  function markSmallZones() {
    markerLayer.clearLayers();
    zoneLayer.eachLayer((layer) => {
      const bounds = layer.getBounds();
      const a = map.latLngToLayerPoint(bounds.getSouthWest());
      const b = map.latLngToLayerPoint(bounds.getNorthEast());
      if (Math.max(Math.abs(b.x - a.x), Math.abs(b.y - a.y)) >= SMALL_ZONE_PX) return;
      const style = GS.styleFor(kinds, layer.feature);
      const marker = L.circleMarker(bounds.getCenter(), {
        pane: "zone-markers", radius: 6, weight: 2, color: style.color, fillColor: style.fillColor || style.color,
        fillOpacity: 0.7, className: `gs-zone-marker gs-zone-marker-${layer.feature.id}`, renderer: renderer(),
      });
      marker.bindTooltip(() => GS.h("span", {}, layer.feature.properties.name));
      marker.on("click", (event) => {
        L.DomEvent.stop(event); // not a click on the map: the marker stands for the zone, not for a place
        map.fitBounds(bounds, { maxZoom: 16 });
        layer.openPopup();
      });
      markerLayer.addLayer(marker);
    });
  }

  // At street zoom every zone carries its name, so a person sees which zone a street lies in.
  function labelZones() {
    const show = map.getZoom() >= LABEL_ZOOM;
    zoneLayer.eachLayer((layer) => {
      if (show && !layer.getTooltip()) {
        layer.bindTooltip(() => GS.h("span", {}, layer.feature.properties.name), {
          permanent: true, direction: "center", className: "gs-zone-label", interactive: false, opacity: 1,
        });
      } else if (!show && layer.getTooltip()) {
        layer.unbindTooltip();
      }
    });
  }

  function renderer() {
    return collection.features.length >= CANVAS_FROM ? canvas : undefined; // undefined: the map's SVG
  }

  function redraw() {
    redrawing = true;
    zoneLayer.clearLayers();
    zoneLayer.addData(collection);
    markSmallZones();
    labelZones();
    redrawing = false;
    if (openZoneId !== null) {
      zoneLayer.eachLayer((layer) => { if (layer.feature.id === openZoneId) openZone(layer); });
    }
  }

  // A zone's popup; asked for from a search or the list, the focus moves into it and back after.
  function openZone(layer) {
    const opener = pendingOpener;
    pendingOpener = null;
    if (opener) GS.openPopupFrom(map, layer, opener); else layer.openPopup();
  }

  function visibleFeatures() {
    return collection.features.filter((f) => !state.hidden.has(f.properties.kind));
  }

  // Status, legend, list and download always describe the same collection.
  function render() {
    const shown = visibleFeatures();
    const total = collection.features.length;
    const season = timeInfo && timeInfo.chosen ? ` (${GS.t(timeInfo.chosen.offset === "+02:00" ? "summer" : "winter")}, ${timeInfo.chosen.offset})` : "";
    const when = state.t && collection.at ? `${GS.t("showingAt")} ${GS.dateTime(collection.at)}${season}` : GS.t("showingNow");
    const count = shown.length === total ? GS.countText(total, GS.t("zoneOne"), GS.t("zoneMany"))
      : GS.t("zonesShown", { shown: GS.number(shown.length, 0), total: GS.number(total, 0) });
    status.textContent = total ? `${when}: ${count}.` : `${when}. ${GS.t("noZones")}`;
    const matched = collection.numberMatched || total;
    drawNote.hidden = matched <= total;
    drawNote.textContent = matched > total ? GS.t("notDrawn", { drawn: GS.number(total, 0), total: GS.number(matched, 0) }) : "";
    renderLegend();
    renderList(shown);
    updateDownload(shown);
  }

  function renderLegend() {
    const present = new Map();
    for (const f of collection.features) present.set(f.properties.kind, (present.get(f.properties.kind) || 0) + 1);
    const items = Object.values(kinds).filter((kind) => present.has(kind.code)).map((kind) => {
      const id = `layer-${kind.code}`;
      const box = GS.h("input", { type: "checkbox", id, checked: !state.hidden.has(kind.code) });
      box.addEventListener("change", () => {
        if (box.checked) state.hidden.delete(kind.code); else state.hidden.add(kind.code);
        redraw();
        render();
        writeHash();
        document.getElementById(id).focus(); // the legend is drawn again: keep the keyboard where it was
      });
      const swatch = GS.h("span", { class: "swatch", "aria-hidden": "true" });
      swatch.style.borderColor = kind.style.color;
      swatch.style.background = `${kind.style.fillColor || kind.style.color}55`;
      return GS.h("li", {}, box, GS.h("label", { for: id }, swatch, GS.h("strong", {}, kind.name[GS.lang]),
        ` (${GS.number(present.get(kind.code), 0)})`, GS.h("span", { class: "meaning" }, kind.meaning[GS.lang])));
    });
    GS.fill(document.getElementById("legend"), items);
  }

  function renderList(shown) {
    document.getElementById("zone-table-caption").textContent =
      GS.countText(shown.length, GS.t("zoneOne"), GS.t("zoneMany"));
    const rows = [...shown].sort((a, b) => GS.compareText(a.properties.name, b.properties.name)).map((f) => {
      const p = f.properties;
      const kind = GS.kindName(kinds, p.kind);
      const button = GS.h("button", { type: "button", "aria-label": `${GS.t("showOnMap")}: ${p.name}` }, GS.t("showOnMap"));
      button.addEventListener("click", () => {
        zoneLayer.eachLayer((layer) => {
          if (layer.feature.id === f.id) {
            map.fitBounds(layer.getBounds(), { maxZoom: 16 });
            GS.openPopupFrom(map, layer, button);
          }
        });
      });
      return GS.h("tr", {},
        GS.h("th", { scope: "row" }, GS.h("span", { class: "zone-name" }, p.name),
          p.illustrative ? [" ", GS.h("span", { class: "badge illustrative" }, GS.t("illustrative"))] : null,
          GS.h("span", { class: "kind-inline" }, kind)),
        GS.h("td", { class: "col-kind" }, kind), GS.h("td", {}, periodCell(p)), GS.h("td", {}, button));
    });
    GS.fill(document.querySelector("#zone-table tbody"), rows);
  }

  // The version's own period; an extension by a later decision on a line of its own.
  function periodCell(p) {
    const more = GS.continuation(p);
    return [GS.versionPeriodEl(p), more ? [GS.h("br"), GS.h("span", { class: "continues" }, more)] : null];
  }

  // The download is the same set of zones (same moment, same area) at full resolution.
  function updateDownload(shown) {
    const link = document.getElementById("download");
    const params = new URLSearchParams({ limit: PAGE_LIMIT });
    if (collection.at) params.set("at", collection.at);
    if (loadedBounds) {
      params.set("bbox", [loadedBounds.getWest(), loadedBounds.getSouth(), loadedBounds.getEast(), loadedBounds.getNorth()]
        .map((v, i) => Math.max(i % 2 ? -90 : -180, Math.min(i % 2 ? 90 : 180, v)).toFixed(5)).join(","));
    }
    const kindsShown = [...new Set(collection.features.map((f) => f.properties.kind))].filter((k) => !state.hidden.has(k));
    if (state.hidden.size) params.set("kind", kindsShown.join(","));
    // nothing shown: an empty collection, not the unfiltered one an empty kind list would ask for
    link.href = kindsShown.length ? `/api/v1/zones?${params}`
      : `data:application/geo+json,${encodeURIComponent(JSON.stringify({ type: "FeatureCollection", features: [] }))}`;
    link.download = `zoner-${(collection.at || "").slice(0, 16).replace(/[:T]/g, "-")}.geojson`;
    link.toggleAttribute("aria-disabled", shown.length === 0);
  }

  // "Am I in a zone?" for a place, at the chosen moment. Asked again when the moment changes; only the newest
  // question's answer is shown, and the answer names the place and the moment it answers for.
  async function lookupAt(lat, lon, label, options = {}) {
    hereTarget = { lat, lon, label };
    if (options.moveMarker !== false) hereMarker.setLatLng([lat, lon]).addTo(map);
    selectTab("here");
    const ticket = lookupRequests.start();
    const params = new URLSearchParams({ lat: lat.toFixed(6), lon: lon.toFixed(6) });
    if (timeInfo) params.set("at", timeInfo.at);
    const here = document.getElementById("here");
    here.setAttribute("aria-busy", "true");
    try {
      const body = await GS.api(`/api/v1/lookup?${params}`, { auth: false, signal: ticket.signal });
      if (!ticket.current()) return;
      lastLookup = { body, label, chosen: Boolean(timeInfo) };
      showHere(lookupView(body, label));
    } catch (error) {
      if (!ticket.current()) return;
      lastLookup = null;
      showHere(GS.h("p", { class: "error" }, `${GS.t("error")}: ${GS.errorText(error)}`));
    } finally {
      if (ticket.current()) here.removeAttribute("aria-busy");
    }
  }

  function lookupView(body, label) {
    const chosen = lastLookup ? lastLookup.chosen : Boolean(timeInfo);
    const when = chosen ? GS.t("answerAt", { time: GS.dateTime(body.at) }) : GS.t("answerNow", { time: GS.dateTime(body.at) });
    const heading = GS.h("p", { class: "answer-for", "data-at": body.at }, GS.t("answerFor", { place: label, when }));
    const zones = body.zones.length
      ? [GS.h("h2", {}, GS.t("inZones")), GS.h("ul", { class: "hits" }, body.zones.map((z) => GS.h("li", {},
        GS.h("strong", {}, z.name), ` (${GS.kindName(kinds, z.kind)})`, GS.h("br"),
        z.decision_ref ? `${z.decision_ref}: ` : null, periodCell(z),
        z.daily_window ? [GS.h("br"), GS.h("em", {}, GS.dailyWindowText(z, chosen))] : null,
        kinds[z.kind] ? [GS.h("br"), GS.h("small", {}, kinds[z.kind].meaning[GS.lang])] : null)))]
      : GS.h("p", {}, GS.t("notInZone"));
    const s = body.sector;
    const sector = s ? [
      GS.h("h2", {}, `${GS.t("sector")}: ${s.name}`),
      GS.h("p", {}, `${GS.t("station")}: ${s.station.name}`, s.station.address ? `, ${s.station.address}` : null),
      GS.h("ul", { class: "officers" }, s.officers.map((o) => GS.h("li", {}, o.name,
        o.phone ? [" · ", GS.h("a", { href: `tel:${o.phone.replace(/\s/g, "")}` }, o.phone)] : null,
        o.email ? [" · ", GS.h("a", { href: `mailto:${o.email}` }, o.email)] : null))),
      s.illustrative ? GS.h("p", { class: "note" }, GS.t("illustrative")) : null,
    ] : null;
    const areas = [
      body.police_district ? `${GS.t("district")}: ${body.police_district.name}` : "",
      body.municipality ? `${GS.t("municipality")}: ${body.municipality.name}` : "",
    ].filter(Boolean).join(" · ");
    return [heading, zones, sector, GS.h("p", {}, areas)];
  }

  function showHere(content) {
    GS.fill(document.getElementById("here"), content);
  }

  function setupTabs() {
    document.querySelectorAll('[role="tab"]').forEach((tab) => {
      tab.addEventListener("click", () => selectTab(tab.id.replace("tab-", "")));
      tab.addEventListener("keydown", (event) => {
        const tabs = [...document.querySelectorAll('[role="tab"]')];
        const i = tabs.indexOf(tab);
        if (event.key === "ArrowRight") { tabs[(i + 1) % tabs.length].focus(); tabs[(i + 1) % tabs.length].click(); }
        if (event.key === "ArrowLeft") { tabs[(i + tabs.length - 1) % tabs.length].focus(); tabs[(i + tabs.length - 1) % tabs.length].click(); }
      });
    });
  }

  function selectTab(name) {
    document.querySelectorAll('[role="tab"]').forEach((tab) => {
      const selected = tab.id === `tab-${name}`;
      tab.setAttribute("aria-selected", String(selected));
      tab.tabIndex = selected ? 0 : -1;
      document.getElementById(tab.getAttribute("aria-controls")).hidden = !selected;
    });
  }

  function updateLangButton() {
    langButton.textContent = GS.t("language");
    langButton.lang = state.lang === "da" ? "en" : "da";
  }

  function readHash() {
    const p = new URLSearchParams(location.hash.slice(1));
    const [lat, lon] = (p.get("c") || "55.6790,12.5700").split(",").map(Number);
    return {
      center: [Number.isFinite(lat) ? lat : 55.679, Number.isFinite(lon) ? lon : 12.57],
      zoom: Number(p.get("z")) || 13,
      t: (p.get("t") || "").replace(" ", "+") || null, // a pasted "+02:00" arrives as a space
      hidden: new Set((p.get("hide") || "").split(",").filter(Boolean)),
      lang: p.get("lang") === "en" ? "en" : "da",
    };
  }

  function writeHash() {
    const c = map.getCenter();
    const p = new URLSearchParams({ z: map.getZoom(), c: `${c.lat.toFixed(5)},${c.lng.toFixed(5)}` });
    if (state.t) p.set("t", state.t);
    if (state.hidden.size) p.set("hide", [...state.hidden].join(","));
    if (state.lang !== "da") p.set("lang", state.lang);
    history.replaceState(null, "", `#${p.toString().replace(/%2C/g, ",").replace(/%3A/g, ":")}`);
  }
})();
