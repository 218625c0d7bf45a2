// The public map: published zones in force now or at a chosen moment, styled per kind, with a legend that
// says what each kind means, popups, "am I in a zone?", offline place search, an accessible list and a GeoJSON
// download of exactly what is shown. The view (position, zoom, time, layers, language) lives in the URL.
"use strict";

(async function main() {
  const SMALL_ZONE_PX = 8; // a zone smaller than this on screen is also shown as a marker
  const state = readHash();
  let kinds = {};
  let collection = { features: [] };
  let loadSeq = 0;
  let firstDrawn = false;
  let openZoneId = null; // keeps a zone's popup open across reloads at another zoom level
  let redrawing = false;
  let timeInfo = null; // the chosen moment resolved to an instant with its offset (GS.resolveWall)
  let lastLookup = null; // the last "am I in a zone?" answer, drawn again when the language changes
  let config = null;
  GS.setLang(state.lang);
  translate();
  const map = GS.createMap("map", { center: state.center, zoom: state.zoom });
  const zoneLayer = L.geoJSON(null, {
    style: (f) => Object.assign(GS.styleFor(kinds, f), { className: `gs-zone gs-zone-${f.id}` }),
    filter: (f) => !state.hidden.has(f.properties.kind),
    onEachFeature: (f, layer) => {
      layer.bindPopup(() => GS.zonePopupHtml(kinds, f.properties));
      layer.feature = f;
      // Leaflet gives a click on a shape to the shape, not to the map: answer "am I in a zone?" here too
      layer.on("click", (event) => lookupAt(event.latlng.lat, event.latlng.lng));
    },
  }).addTo(map);
  // Zones too small to see at this zoom (a street zone seen from all of Denmark) get a marker of their kind's
  // colour, in a pane of its own; a click zooms to the zone and opens its popup.
  map.createPane("zone-markers");
  map.getPane("zone-markers").style.zIndex = 450;
  const markerLayer = L.layerGroup().addTo(map);
  map.on("zoomend", markSmallZones);
  map.on("popupopen", (event) => { openZoneId = event.popup._source?.feature?.id ?? null; });
  map.on("popupclose", () => { if (!redrawing) openZoneId = null; });
  const hereMarker = L.circleMarker([0, 0], { radius: 7, color: "#111", fillColor: "#ffd60a", fillOpacity: 1 });
  const timeInput = document.getElementById("time");
  const timeNote = document.getElementById("time-note");
  const status = document.getElementById("status");
  setTime(state.t);

  // Zones first (time to first drawn zone), then the rest.
  const kindsPromise = GS.kinds();
  const configPromise = GS.api("/api/v1/config", { auth: false });
  kinds = await kindsPromise;
  await loadZones();
  config = await configPromise;
  renderCredits();
  map.attributionControl.addAttribution(config.credits[0]);
  GS.addReferenceLayers(map, config).catch((error) => console.warn("reference layers:", error.message));

  if (!state.t) timeInput.value = GS.localInputValue();
  timeInput.addEventListener("change", () => {
    if ((timeInput.value || null) === (timeInfo ? timeInfo.wall : null)) return; // the field shows what is shown
    setTime(timeInput.value || null);
    loadZones();
  });
  document.getElementById("now").addEventListener("click", () => {
    setTime(null);
    timeInput.value = GS.localInputValue();
    loadZones();
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
    loadZones();
  });
  map.on("moveend", writeHash);
  let lastTolerance = currentTolerance();
  map.on("zoomend", () => {
    const tolerance = currentTolerance();
    if (tolerance / lastTolerance > 2 || lastTolerance / tolerance > 2) {
      lastTolerance = tolerance;
      loadZones();
    }
  });
  map.on("click", (event) => lookupAt(event.latlng.lat, event.latlng.lng));
  document.getElementById("locate").addEventListener("click", () => {
    if (!navigator.geolocation) { showHere(`<p>${GS.t("positionFailed")}</p>`); return; }
    navigator.geolocation.getCurrentPosition(
      (pos) => { map.setView([pos.coords.latitude, pos.coords.longitude], 16); lookupAt(pos.coords.latitude, pos.coords.longitude); },
      (error) => showHere(`<p>${GS.t("positionFailed")}: ${GS.escapeHtml(error.message)}</p>`),
    );
  });
  setupTabs();
  GS.searchBox(document.getElementById("search"), document.getElementById("search-results"), (result) => {
    GS.goTo(map, result, result.bbox ? null : hereMarker);
    if (result.type === "zone") {
      zoneLayer.eachLayer((layer) => { if (String(layer.feature.id) === result.ref) layer.openPopup(); });
    } else if (!result.bbox) {
      lookupAt(result.lat, result.lon);
    }
  }, () => (timeInfo ? { at: timeInfo.at } : {}));

  function translate() {
    GS.translatePage();
    document.title = GS.t("pageTitle");
  }

  function setLanguage(language) {
    state.lang = language;
    GS.setLang(language);
    translate();
    updateLangButton();
    if (timeInfo) setTime(timeInfo.requested); // the note about a repeated or skipped hour, in the new language
    renderCredits();
    render();
    if (lastLookup) showHere(lookupHtml(lastLookup));
    // a popup is drawn when it opens: open it again in the new language
    const reopen = openZoneId;
    map.closePopup();
    if (reopen !== null) zoneLayer.eachLayer((layer) => { if (layer.feature.id === reopen) layer.openPopup(); });
  }

  function renderCredits() {
    if (config) document.getElementById("credits").textContent = `${GS.t("credits")}: ${config.credits.join(" · ")}`;
  }

  // The moment to show, as the field gives it ("2025-10-26T02:30") or as a permalink keeps it (with an offset
  // when the time happens twice). The API is always asked with an explicit offset.
  function setTime(value) {
    if (!value) {
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

  function renderTimeNote() {
    if (!timeInfo || !timeInfo.note) {
      timeNote.hidden = true;
      timeNote.innerHTML = "";
      return;
    }
    timeNote.hidden = false;
    timeNote.innerHTML = `<p>${GS.escapeHtml(timeInfo.note)}</p>${timeInfo.choices.map((c) => `<button type="button"
        data-offset="${c.offset}" aria-pressed="${c.offset === timeInfo.offset}">${GS.escapeHtml(c.label)}</button>`).join(" ")}`;
    timeNote.querySelectorAll("button").forEach((button) => button.addEventListener("click", () => {
      setTime(`${timeInfo.wall}${button.dataset.offset}`);
      loadZones();
    }));
  }

  function currentTolerance() {
    return GS.simplifyForZoom(map.getZoom(), map.getCenter().lat);
  }

  async function loadZones() {
    const seq = ++loadSeq;
    const params = new URLSearchParams({ limit: 1000, simplify: currentTolerance() });
    if (timeInfo) params.set("at", timeInfo.at);
    try {
      const data = await GS.api(`/api/v1/zones?${params}`, { auth: false });
      if (seq !== loadSeq) return; // a newer request superseded this one
      collection = data;
      redraw();
      if (!firstDrawn && data.features.length) {
        firstDrawn = true;
        performance.mark("gs:first-zone");
      }
      render();
      writeHash();
      document.body.dataset.ready = "true";
    } catch (error) {
      if (seq !== loadSeq) return;
      // never leave the zones of another moment on the map under an error
      collection = { features: [], at: null };
      redraw();
      renderList([]);
      updateDownload([]);
      writeHash();
      status.textContent = `${GS.t("error")}: ${error.message}`;
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
        fillOpacity: 0.7, className: `gs-zone-marker gs-zone-marker-${layer.feature.id}`,
      });
      marker.bindTooltip(layer.feature.properties.name);
      marker.on("click", (event) => {
        L.DomEvent.stop(event); // not a click on the map: the marker stands for the zone, not for a place
        map.fitBounds(bounds, { maxZoom: 16 });
        layer.openPopup();
      });
      markerLayer.addLayer(marker);
    });
  }

  function redraw() {
    redrawing = true;
    zoneLayer.clearLayers();
    zoneLayer.addData(collection);
    markSmallZones();
    redrawing = false;
    if (openZoneId !== null) {
      zoneLayer.eachLayer((layer) => { if (layer.feature.id === openZoneId) layer.openPopup(); });
    }
  }

  function visibleFeatures() {
    return collection.features.filter((f) => !state.hidden.has(f.properties.kind));
  }

  function render() {
    const shown = visibleFeatures();
    const season = timeInfo && timeInfo.chosen ? ` (${GS.t(timeInfo.chosen.offset === "+02:00" ? "summer" : "winter")}, ${timeInfo.chosen.offset})` : "";
    const when = state.t ? `${GS.t("showingAt")} ${GS.dateTime(collection.at)}${season}` : GS.t("showingNow");
    status.textContent = shown.length ? `${when}: ${shown.length} ${GS.t("zonesInForce")}.` : `${when}. ${GS.t("noZones")}`;
    renderLegend();
    renderList(shown);
    updateDownload(shown);
  }

  function renderLegend() {
    const present = new Map();
    for (const f of collection.features) present.set(f.properties.kind, (present.get(f.properties.kind) || 0) + 1);
    const legend = document.getElementById("legend");
    legend.innerHTML = "";
    for (const kind of Object.values(kinds)) {
      if (!present.has(kind.code)) continue;
      const id = `layer-${kind.code}`;
      const li = document.createElement("li");
      li.innerHTML = `<input type="checkbox" id="${id}" ${state.hidden.has(kind.code) ? "" : "checked"}>
        <label for="${id}"><span class="swatch" style="border-color:${kind.style.color};background:${kind.style.fillColor || kind.style.color}55"></span>
        <strong>${GS.escapeHtml(kind.name[GS.lang])}</strong> (${present.get(kind.code)})
        <span class="meaning">${GS.escapeHtml(kind.meaning[GS.lang])}</span></label>`;
      li.querySelector("input").addEventListener("change", (event) => {
        if (event.target.checked) state.hidden.delete(kind.code); else state.hidden.add(kind.code);
        redraw();
        render();
        writeHash();
      });
      legend.appendChild(li);
    }
  }

  function renderList(shown) {
    const caption = document.getElementById("zone-table-caption");
    caption.textContent = `${shown.length} ${GS.t("zonesInForce")}`;
    const tbody = document.querySelector("#zone-table tbody");
    tbody.innerHTML = "";
    for (const f of [...shown].sort((a, b) => a.properties.name.localeCompare(b.properties.name, "da"))) {
      const p = f.properties;
      const tr = document.createElement("tr");
      const kind = GS.escapeHtml(GS.kindName(kinds, p.kind));
      tr.innerHTML = `<th scope="row"><span class="zone-name">${GS.escapeHtml(p.name)}</span>${p.illustrative ? ` <span class="badge illustrative">${GS.t("illustrative")}</span>` : ""}<span class="kind-inline">${kind}</span></th>
        <td class="col-kind">${kind}</td><td>${periodCell(p)}</td>
        <td><button type="button" aria-label="${GS.escapeHtml(`${GS.t("showOnMap")}: ${p.name}`)}">${GS.t("showOnMap")}</button></td>`;
      tr.querySelector("button").addEventListener("click", () => {
        zoneLayer.eachLayer((layer) => {
          if (layer.feature.id === f.id) { map.fitBounds(layer.getBounds(), { maxZoom: 16 }); layer.openPopup(); }
        });
      });
      tbody.appendChild(tr);
    }
  }

  // The version's own period; an extension by a later decision on a line of its own.
  function periodCell(p) {
    const more = GS.continuation(p);
    return `<span class="period">${GS.escapeHtml(GS.versionPeriod(p))}</span>${more
      ? `<br><span class="continues">${GS.escapeHtml(more)}</span>` : ""}`;
  }

  // The download is the same set of zones at the same moment, at full resolution.
  function updateDownload(shown) {
    const link = document.getElementById("download");
    const params = new URLSearchParams({ limit: 1000, at: collection.at });
    const kindsShown = [...new Set(collection.features.map((f) => f.properties.kind))].filter((k) => !state.hidden.has(k));
    if (state.hidden.size) params.set("kind", kindsShown.join(","));
    // nothing shown: an empty collection, not the unfiltered one an empty kind list would ask for
    link.href = kindsShown.length ? `/api/v1/zones?${params}`
      : `data:application/geo+json,${encodeURIComponent(JSON.stringify({ type: "FeatureCollection", features: [] }))}`;
    link.download = `zoner-${(collection.at || "").slice(0, 16).replace(/[:T]/g, "-")}.geojson`;
    link.toggleAttribute("aria-disabled", shown.length === 0);
  }

  async function lookupAt(lat, lon) {
    hereMarker.setLatLng([lat, lon]).addTo(map);
    selectTab("here");
    const params = new URLSearchParams({ lat: lat.toFixed(6), lon: lon.toFixed(6) });
    if (timeInfo) params.set("at", timeInfo.at);
    try {
      const body = await GS.api(`/api/v1/lookup?${params}`, { auth: false });
      lastLookup = body;
      showHere(lookupHtml(body));
    } catch (error) {
      lastLookup = null;
      showHere(`<p class="error">${GS.t("error")}: ${GS.escapeHtml(error.message)}</p>`);
    }
  }

  function lookupHtml(body) {
    const zones = body.zones.length
      ? `<h3>${GS.t("inZones")}</h3><ul class="hits">${body.zones.map((z) => `<li><strong>${GS.escapeHtml(z.name)}</strong>
          (${GS.escapeHtml(GS.kindName(kinds, z.kind))})<br>${z.decision_ref ? `${GS.escapeHtml(z.decision_ref)}: ` : ""}${periodCell(z)}
          ${z.daily_window ? `<br><em>${GS.escapeHtml(GS.dailyWindowText(z, Boolean(state.t)))}</em>` : ""}
          ${kinds[z.kind] ? `<br><small>${GS.escapeHtml(kinds[z.kind].meaning[GS.lang])}</small>` : ""}</li>`).join("")}</ul>`
      : `<p>${GS.t("notInZone")}</p>`;
    const s = body.sector;
    const sector = s ? `<h3>${GS.t("sector")}: ${GS.escapeHtml(s.name)}</h3>
        <p>${GS.t("station")}: ${GS.escapeHtml(s.station.name)}${s.station.address ? `, ${GS.escapeHtml(s.station.address)}` : ""}</p>
        <ul class="officers">${s.officers.map((o) => `<li>${GS.escapeHtml(o.name)}
          ${o.phone ? ` · <a href="tel:${GS.escapeHtml(o.phone.replace(/\s/g, ""))}">${GS.escapeHtml(o.phone)}</a>` : ""}
          ${o.email ? ` · <a href="mailto:${GS.escapeHtml(o.email)}">${GS.escapeHtml(o.email)}</a>` : ""}</li>`).join("")}</ul>
        ${s.illustrative ? `<p class="note">${GS.t("illustrative")}</p>` : ""}` : "";
    const areas = [
      body.police_district ? `${GS.t("district")}: ${GS.escapeHtml(body.police_district.name)}` : "",
      body.municipality ? `${GS.t("municipality")}: ${GS.escapeHtml(body.municipality.name)}` : "",
    ].filter(Boolean).join(" · ");
    return `${zones}${sector}<p>${areas}</p>`;
  }

  function showHere(html) {
    document.getElementById("here").innerHTML = html;
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
