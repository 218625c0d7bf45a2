// Shared helpers for the geoservice web pages: language, API access and tokens, Danish date formatting,
// kind styles, the offline base layer, zone popups and place search. Everything is served locally.
"use strict";

const GS = (() => {
  const TZ = "Europe/Copenhagen";
  const TOKEN_KEY = "geoservice.token";
  const MONTHS = {
    da: ["januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september", "oktober",
      "november", "december"],
    en: ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
      "November", "December"],
  };

  // UI text, Danish first. Kind names and meanings come from the API in both languages.
  const TEXT = {
    da: {
      pageTitle: "Politiets zoner – kort", mapLabel: "Kort over zoner", summer: "sommertid", winter: "vintertid",
      title: "Politiets zoner", subtitle: "nattelivszoner, visitationszoner og andre zoner",
      legend: "Signaturforklaring", list: "Liste", here: "Er jeg i en zone?", search: "Søg sted, zone eller koordinater",
      time: "Tidspunkt", now: "Nu", showingNow: "Viser zoner i kraft nu", showingAt: "Viser zoner i kraft",
      zonesInForce: "zoner i kraft", noZones: "Ingen zoner i kraft på dette tidspunkt.", loading: "Henter zoner …",
      type: "Type", period: "Periode", legalBasis: "Retsgrundlag", decision: "Afgørelse", name: "Navn",
      illustrative: "Illustrativ afgrænsning", showOnMap: "Vis på kort", download: "Hent som GeoJSON",
      useMyPosition: "Brug min position", orClick: "… eller klik på kortet.", notInZone: "Ikke i nogen zone lige her.",
      inZones: "Her gælder", sector: "Din Betjent", station: "Nærpolitistation", district: "Politikreds",
      municipality: "Kommune", dailyWindow: "Nattelivsforbuddet gælder kl. {start}–{end}",
      dailyWindowNow: "Nattelivsforbuddet gælder nu (kl. {start}–{end})",
      dailyWindowNotNow: "Nattelivsforbuddet gælder kl. {start}–{end}, ikke lige nu",
      dailyWindowAt: "Nattelivsforbuddet gælder på det valgte tidspunkt (kl. {start}–{end})",
      dailyWindowNotAt: "Nattelivsforbuddet gælder kl. {start}–{end}, ikke på det valgte tidspunkt",
      noEnd: "uden udløb", noZoneHit: "Ingen zone hedder sådan",
      roleLacksAccess: "Nøglen er gyldig, men rollen {role} har ikke adgang: siden kræver rollen {roles}.",
      positionFailed: "Kunne ikke finde din position", error: "Fejl", credits: "Datakilder",
      illustrativeNote: "Afgrænsninger markeret illustrativ er afledt af offentlige data og er ikke de officielle grænser.",
      login: "Log ind", token: "API-nøgle (token)", logout: "Log ud", refused: "Adgang nægtet",
      needsRole: "Denne side kræver rollen {roles}.", badToken: "Nøglen blev ikke godkendt.",
      language: "English", phone: "Telefon", email: "E-mail", print: "Udskriv",
      extendedUntil: "Forlænget til {date}", extendedNoEnd: "Forlænget uden udløb",
      amendedFrom: "Ændret afgrænsning fra {from}, gælder til {until}",
      revokedEarly: "Ophævet før tid (afgørelsen gjaldt til {date})",
      timeTwice: "Kl. {time} den {date} findes to gange, fordi uret stilles tilbage fra sommertid til vintertid. Viser {chosen}.",
      timeSkipped: "Kl. {time} den {date} findes ikke, fordi uret stilles frem til sommertid. Viser i stedet kl. {shown}.",
      summerTime: "kl. {time} sommertid ({offset})", winterTime: "kl. {time} vintertid ({offset})",
      zoneOne: "zone i kraft", zoneMany: "zoner i kraft", zonesShown: "{shown} af {total} zoner vist",
      notDrawn: "Kortet tegner {drawn} af {total} zoner i udsnittet; zoom ind for at se resten.",
      answerFor: "Svar for {place}, {when}", answerNow: "nu ({time})", answerAt: "på tidspunktet {time}",
      yourPosition: "din position", clickedPlace: "det valgte sted", mapCentre: "kortets midte",
      lookupCentre: "Slå op for kortets midte", asking: "Slår op …",
      badYear: "Skriv en hel dato med et firecifret årstal (fx 2026); kortet viser stadig {shown}.",
      noResults: "Intet fundet for «{q}».", searchFailed: "Søgningen mislykkedes: {reason}",
      offlineSearchNote: "Gader og adresser kan ikke søges lige nu; viser steder og zoner.",
      errNetwork: "Serveren kunne ikke nås. Prøv igen.", errInput: "Ugyldig værdi i feltet «{field}».",
      errInputAny: "Ugyldig forespørgsel.", errAuth: "Nøglen blev ikke godkendt.", errForbidden: "Adgang nægtet.",
      errNotFound: "Findes ikke.", errTooMany: "For mange forsøg; vent lidt og prøv igen.",
      errServer: "Serverfejl. Prøv igen senere.", errOther: "Fejl {status}.",
      untilInclusive: "{start} til og med {end}", endsAt: "Gælder til {time}", startsAt: "Gælder fra {time}",
      extendedUntilIncl: "Forlænget til og med {date}",
      zoomIn: "Zoom ind", zoomOut: "Zoom ud", closePopup: "Luk",
      a11y: "Tilgængelighedserklæring", skip: "Gå til indhold", panelLabel: "Zoner og opslag",
      roles: { public: "offentlig", officer: "betjent", analyst: "analytiker", legal: "jurist", admin: "administrator" },
    },
    en: {
      pageTitle: "Police zones – map", mapLabel: "Map of zones", summer: "summer time", winter: "winter time",
      title: "Police zones", subtitle: "nightlife zones, search zones and other zones",
      legend: "Legend", list: "List", here: "Am I in a zone?", search: "Search place, zone or coordinates",
      time: "Time", now: "Now", showingNow: "Showing zones in force now", showingAt: "Showing zones in force at",
      zonesInForce: "zones in force", noZones: "No zones in force at this time.", loading: "Loading zones …",
      type: "Kind", period: "Period", legalBasis: "Legal basis", decision: "Decision", name: "Name",
      illustrative: "Illustrative boundary", showOnMap: "Show on map", download: "Download as GeoJSON",
      useMyPosition: "Use my position", orClick: "… or click the map.", notInZone: "Not in any zone right here.",
      inZones: "What applies here", sector: "Din Betjent", station: "Local police station", district: "Police district",
      municipality: "Municipality", dailyWindow: "The nightlife ban applies {start}–{end}",
      dailyWindowNow: "The nightlife ban applies now ({start}–{end})",
      dailyWindowNotNow: "The nightlife ban applies {start}–{end}, not right now",
      dailyWindowAt: "The nightlife ban applies at the chosen time ({start}–{end})",
      dailyWindowNotAt: "The nightlife ban applies {start}–{end}, not at the chosen time",
      noEnd: "no end", noZoneHit: "No zone by that name",
      roleLacksAccess: "The key is valid, but the role {role} has no access: this page needs the role {roles}.",
      positionFailed: "Could not find your position", error: "Error", credits: "Data sources",
      illustrativeNote: "Boundaries marked illustrative are derived from public data and are not the official ones.",
      login: "Log in", token: "API key (token)", logout: "Log out", refused: "Access refused",
      needsRole: "This page needs the role {roles}.", badToken: "The key was not accepted.",
      language: "Dansk", phone: "Phone", email: "E-mail", print: "Print",
      extendedUntil: "Extended until {date}", extendedNoEnd: "Extended with no end",
      amendedFrom: "Amended boundary from {from}, in force until {until}",
      revokedEarly: "Revoked early (the decision ran until {date})",
      timeTwice: "{time} on {date} happens twice: the clocks go back from summer to winter time. Showing {chosen}.",
      timeSkipped: "{time} on {date} does not exist: the clocks go forward to summer time. Showing {shown} instead.",
      summerTime: "{time} summer time ({offset})", winterTime: "{time} winter time ({offset})",
      zoneOne: "zone in force", zoneMany: "zones in force", zonesShown: "{shown} of {total} zones shown",
      notDrawn: "The map draws {drawn} of {total} zones in this view; zoom in to see the rest.",
      answerFor: "Answer for {place}, {when}", answerNow: "now ({time})", answerAt: "at {time}",
      yourPosition: "your position", clickedPlace: "the chosen place", mapCentre: "the centre of the map",
      lookupCentre: "Look up the centre of the map", asking: "Looking up …",
      badYear: "Type a whole date with a four-digit year (e.g. 2026); the map still shows {shown}.",
      noResults: "Nothing found for “{q}”.", searchFailed: "The search failed: {reason}",
      offlineSearchNote: "Streets and addresses cannot be searched right now; showing places and zones.",
      errNetwork: "The server could not be reached. Try again.", errInput: "Invalid value in the field “{field}”.",
      errInputAny: "Invalid request.", errAuth: "The key was not accepted.", errForbidden: "Access refused.",
      errNotFound: "Not found.", errTooMany: "Too many attempts; wait a little and try again.",
      errServer: "Server error. Try again later.", errOther: "Error {status}.",
      untilInclusive: "{start} to {end} inclusive", endsAt: "In force until {time}", startsAt: "In force from {time}",
      extendedUntilIncl: "Extended to {date} inclusive",
      zoomIn: "Zoom in", zoomOut: "Zoom out", closePopup: "Close",
      a11y: "Accessibility statement", skip: "Skip to content", panelLabel: "Zones and look-ups",
      roles: { public: "public", officer: "officer", analyst: "analyst", legal: "legal", admin: "admin" },
    },
  };

  let lang = "da";

  function setLang(value) {
    lang = value === "en" ? "en" : "da";
    document.documentElement.lang = lang;
  }

  function t(key, vars = {}) {
    return textIn(lang, key, vars);
  }

  function textIn(language, key, vars = {}) {
    const text = (TEXT[language] && TEXT[language][key]) || TEXT.da[key] || key;
    return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? vars[name] : `{${name}}`));
  }

  // Fill every element with data-i18n="key" (and data-i18n-placeholder / data-i18n-label).
  function translatePage(root = document) {
    root.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
    root.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
    root.querySelectorAll("[data-i18n-label]").forEach((el) => { el.setAttribute("aria-label", t(el.dataset.i18nLabel)); });
  }

  // Parts of an instant in Copenhagen time, whatever the browser's own time zone. One formatter for the page:
  // building one per call cost 1.5 ms, 15 s for a list of 10,000 zones.
  const LOCAL_TIME = new Intl.DateTimeFormat("en-GB", {
    timeZone: TZ, year: "numeric", month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit",
    hourCycle: "h23",
  });
  const localPartsSeen = new Map(); // a list of zones repeats the same few instants
  function localParts(iso) {
    let found = localPartsSeen.get(iso);
    if (!found) {
      const parts = LOCAL_TIME.formatToParts(new Date(iso));
      const get = (type) => parts.find((p) => p.type === type).value;
      found = { year: +get("year"), month: +get("month"), day: +get("day"), hour: get("hour"), minute: get("minute") };
      if (localPartsSeen.size > 5000) localPartsSeen.clear();
      localPartsSeen.set(iso, found);
    }
    return { ...found };
  }

  // "1. september 2025 kl. 16.00" / "1 September 2025 16:00"
  function dateTime(iso, language = lang) {
    if (!iso) return TEXT[language].noEnd;
    const p = localParts(iso);
    return language === "en"
      ? `${p.day} ${MONTHS.en[p.month - 1]} ${p.year} ${p.hour}:${p.minute}`
      : `${p.day}. ${MONTHS.da[p.month - 1]} ${p.year} kl. ${p.hour}.${p.minute}`;
  }

  // "17. november 2026" / "17 November 2026": a day, from an instant or a date ("2026-11-17").
  function dateText(value, language = lang) {
    if (!value) return "";
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
    const p = m ? { year: +m[1], month: +m[2], day: +m[3] } : localParts(value);
    return language === "en" ? `${p.day} ${MONTHS.en[p.month - 1]} ${p.year}` : `${p.day}. ${MONTHS.da[p.month - 1]} ${p.year}`;
  }

  function isLocalMidnight(iso) {
    const p = localParts(iso);
    return p.hour === "00" && p.minute === "00";
  }

  // The last day a period that ends at local midnight covers: the day before the end.
  function lastDay(iso) {
    return dateText(new Date(Date.parse(iso) - 60000).toISOString());
  }

  // A period as a person reads it. Stored half-open, [from, to): an end at local midnight is shown as the day
  // before "til og med" ("1. januar 2026 til og med 31. december 2026"); a start at midnight as the day alone.
  function period(from, to, language = lang) {
    const start = from && isLocalMidnight(from) ? dateText(from, language) : dateTime(from, language);
    if (!to) return `${start} – ${TEXT[language].noEnd}`;
    if (isLocalMidnight(to)) {
      const end = dateText(new Date(Date.parse(to) - 60000).toISOString(), language);
      return textIn(language, "untilInclusive", { start, end });
    }
    return `${start} – ${dateTime(to, language)}`;
  }

  // The period as an element: the words, with the exact instants in a tooltip and in data attributes.
  function periodEl(from, to, className = "period") {
    const exact = [from ? t("startsAt", { time: dateTime(from) }) : "", to ? t("endsAt", { time: dateTime(to) }) : ""];
    return h("span", { class: className, title: exact.filter(Boolean).join("; "), "data-valid-from": from || "",
      "data-valid-to": to || "" }, period(from, to));
  }

  // Numbers the Danish way: "3.950", "3,49".
  // Danish alphabetical order (æ, ø, å last). One collator for the page: localeCompare builds one per call,
  // which a list of 10,000 zones pays for seconds.
  const compareText = new Intl.Collator("da").compare;

  function number(value, digits = 2) {
    if (typeof value !== "number") return value === null || value === undefined ? "–" : String(value);
    return value.toLocaleString(lang === "en" ? "en-GB" : "da-DK", { maximumFractionDigits: digits });
  }

  // "1 zone i kraft", "3 zoner i kraft": the count with the singular or plural words.
  function countText(n, one, many) {
    return `${number(n, 0)} ${n === 1 ? one : many}`;
  }

  function roleName(code) {
    return (TEXT[lang].roles || TEXT.da.roles)[code] || code;
  }

  // DOM building: strings become text nodes, never markup, so data can never become a script.
  function append(element, children) {
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false || child === "") continue;
      element.append(child instanceof Node ? child : String(child));
    }
    return element;
  }

  function setAttributes(element, attrs) {
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key.startsWith("on") && typeof value === "function") element.addEventListener(key.slice(2), value);
      else if (key === "style" && typeof value === "object") Object.assign(element.style, value);
      else element.setAttribute(key, value === true ? "" : String(value));
    }
    return element;
  }

  function h(tag, attrs, ...children) {
    return append(setAttributes(document.createElement(tag), attrs), children);
  }

  function svg(tag, attrs, ...children) {
    return append(setAttributes(document.createElementNS("http://www.w3.org/2000/svg", tag), attrs), children);
  }

  // Replace an element's content with the given nodes and strings.
  function fill(element, ...children) {
    element.replaceChildren();
    return append(element, children);
  }

  // Only the newest of a series of requests may show its answer: each start() aborts the one before and hands
  // out a ticket; a ticket whose request was overtaken says so (current() is false) and its answer is dropped.
  function latest() {
    let generation = 0;
    let controller = null;
    return {
      start() {
        generation += 1;
        if (controller) controller.abort();
        controller = new AbortController();
        const mine = generation;
        return { signal: controller.signal, current: () => mine === generation };
      },
      cancel() {
        generation += 1;
        if (controller) controller.abort();
        controller = null;
      },
    };
  }

  // The value for <input type="datetime-local"> of an instant, in Copenhagen time.
  function localInputValue(date = new Date()) {
    const p = localParts(date.toISOString());
    const pad = (n) => String(n).padStart(2, "0");
    return `${p.year}-${pad(p.month)}-${pad(p.day)}T${p.hour}:${p.minute}`;
  }

  // Copenhagen's offset from UTC, in minutes, at an instant.
  function offsetAt(ms) {
    const p = localParts(new Date(ms).toISOString());
    return Math.round((Date.UTC(p.year, p.month - 1, p.day, +p.hour, +p.minute) - Math.floor(ms / 60000) * 60000) / 60000);
  }

  function offsetText(minutes) {
    const sign = minutes < 0 ? "-" : "+";
    const pad = (n) => String(Math.floor(Math.abs(n))).padStart(2, "0");
    return `${sign}${pad(minutes / 60)}:${pad(minutes % 60)}`;
  }

  // A wall-clock time from <input type="datetime-local"> ("2025-10-26T02:30") as the instants it can mean in
  // Copenhagen: one on an ordinary day, two on the night the clocks go back (summer time first, the earlier),
  // none in the hour skipped when they go forward. Each with an explicit offset, as the API wants it.
  function instantsOf(wall) {
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec((wall || "").slice(0, 16));
    if (!m) return [];
    const asUtc = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
    const found = [];
    for (const minutes of [120, 60, 0, -60]) {
      const ms = asUtc - minutes * 60000;
      if (offsetAt(ms) === minutes && !found.some((f) => f.ms === ms)) {
        found.push({ ms, offset: offsetText(minutes), iso: `${m[0]}:00${offsetText(minutes)}` });
      }
    }
    return found.sort((a, b) => a.ms - b.ms);
  }

  // The first wall-clock time at or after `wall` that exists (the skipped hour moves to its end, 03.00).
  function nextExisting(wall) {
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(wall.slice(0, 16));
    const pad = (n) => String(n).padStart(2, "0");
    for (let hour = +m[4] + 1; hour < 24; hour++) {
      const candidate = `${m[1]}-${m[2]}-${m[3]}T${pad(hour)}:00`;
      if (instantsOf(candidate).length) return candidate;
    }
    return wall;
  }

  // Resolve a wall-clock time for the API. Returns { wall, at, choices, note }: `wall` the time the field should
  // show (moved past a skipped hour), `at` the instant to ask for (with offset; `offset` picks one of two),
  // `choices` both instants when the time happens twice, `note` a sentence saying what was done.
  function resolveWall(wall, offset = null, language = lang) {
    const say = (key, vars) => textIn(language, key, vars);
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec((wall || "").slice(0, 16));
    if (!m) return { wall, at: wall, choices: [], note: "" };
    const date = language === "en" ? `${+m[3]} ${MONTHS.en[+m[2] - 1]} ${m[1]}` : `${+m[3]}. ${MONTHS.da[+m[2] - 1]} ${m[1]}`;
    const clock = (h, min) => (language === "en" ? `${h}:${min}` : `${h}.${min}`);
    const time = clock(m[4], m[5]);
    const found = instantsOf(wall);
    if (found.length === 0) {
      const moved = nextExisting(wall);
      const shown = clock(moved.slice(11, 13), moved.slice(14, 16));
      return { wall: moved, at: instantsOf(moved)[0]?.iso || moved, choices: [],
        note: say("timeSkipped", { time, date, shown }) };
    }
    if (found.length === 1) return { wall, at: found[0].iso, choices: [], note: "" };
    const choices = found.map((f) => Object.assign({}, f, {
      label: say(f.offset === "+02:00" ? "summerTime" : "winterTime", { time, offset: f.offset }),
    }));
    const chosen = choices.find((c) => c.offset === offset) || choices[0];
    return { wall, at: chosen.iso, offset: chosen.offset, choices, chosen,
      note: say("timeTwice", { time, date, chosen: chosen.label }) };
  }

  function token() { return sessionStorage.getItem(TOKEN_KEY); }
  function setToken(value) { sessionStorage.setItem(TOKEN_KEY, value); }
  function clearToken() { sessionStorage.removeItem(TOKEN_KEY); }

  async function api(path, options = {}) {
    const headers = Object.assign({}, options.headers || {});
    if (options.auth !== false && token()) headers.Authorization = `Bearer ${token()}`;
    let response;
    try {
      response = await fetch(path, Object.assign({}, options, { headers }));
    } catch (failure) {
      if (failure.name === "AbortError") throw failure;
      throw Object.assign(new Error(t("errNetwork")), { status: 0, text: t("errNetwork") });
    }
    const text = await response.text();
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch { body = text; }
    if (!response.ok) {
      const error = new Error(body && body.detail ? body.detail : response.statusText);
      error.status = response.status;
      error.problem = body;
      error.text = errorText(error);
      throw error;
    }
    return body;
  }

  // An API error in the page's language: the problem's own detail is English, so Danish pages say what kind of
  // error it was and which field, in Danish.
  function errorText(error) {
    if (!error) return "";
    const status = error.status;
    if (status === undefined) return error.message;
    if (status === 0) return t("errNetwork");
    if (lang === "en" && error.problem && error.problem.detail) return error.problem.detail;
    const fields = ((error.problem && error.problem.errors) || []).map((e) => e.field).filter(Boolean);
    if (status === 400 || status === 422) return fields.length ? t("errInput", { field: fields.join(", ") }) : t("errInputAny");
    if (status === 401) return t("errAuth");
    if (status === 403) return t("errForbidden");
    if (status === 404) return t("errNotFound");
    if (status === 429) return t("errTooMany");
    if (status >= 500) return t("errServer");
    return t("errOther", { status });
  }

  function escapeHtml(value) {
    return String(value ?? "").replace(/[&<>"']/g, (c) => ({
      "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
    })[c]);
  }

  async function kinds() {
    const body = await api("/api/v1/kinds");
    return Object.fromEntries(body.kinds.map((k) => [k.code, k]));
  }

  function kindName(kinds, code) {
    const kind = kinds[code];
    return kind ? kind.name[lang] : code;
  }

  function styleFor(kinds, feature) {
    const kind = kinds[feature.properties.kind];
    return Object.assign({ color: "#333", weight: 2, fillOpacity: 0.2 }, kind ? kind.style : {});
  }

  // Metres of simplification that a zoom level cannot show: half a screen pixel.
  function simplifyForZoom(zoom, latitude = 56) {
    const metresPerPixel = (156543.03 * Math.cos((latitude * Math.PI) / 180)) / 2 ** zoom;
    return Math.min(200, Math.max(0.5, Math.round(metresPerPixel * 5) / 10));
  }

  // Our own reference boundaries as the offline base layer, drawn lightly. The DAGI outlines are
  // 1:500,000, coarse in a street view, so politikredse show only zoomed out and bydele (Copenhagen's only)
  // zoomed in; each layer is fetched the first time it is needed. An online tile layer is added only when the service is configured with one.
  const REFERENCE_LAYERS = [
    { type: "politikreds", style: { color: "#44546a", weight: 1.2, fill: false }, simplify: 400, minZoom: 0, maxZoom: 11 },
    // kommune outlines at every zoom: outside Copenhagen they are the only base map there is
    { type: "kommune", style: { color: "#8a96a3", weight: 0.7, fill: false, dashArray: "3 3" }, simplify: 150, minZoom: 0, maxZoom: 20 },
    { type: "bydel", style: { color: "#8a96a3", weight: 0.8, fill: false }, simplify: 10, minZoom: 11, maxZoom: 20 },
  ];

  // The base map: with a street map configured, tiles come through our own caching proxy (config.tile_url is a
  // path on this server, so the browser never talks to the tile provider); without one, the reference outlines.
  function addReferenceLayers(map, config) {
    ensureReferencePane(map);
    const tiles = Boolean(config && config.tile_url);
    if (tiles) {
      L.tileLayer(config.tile_url, {
        attribution: escapeHtml(config.tile_attribution || ""), maxZoom: config.tile_max_zoom || 19,
        pane: "tilePane", className: "gs-basemap",
      }).addTo(map);
      map.getContainer().classList.add("has-basemap");
    }
    // With streets drawn, only the politikreds outlines zoomed out: the tiles show the rest.
    const layers = REFERENCE_LAYERS.filter((spec) => !tiles || spec.type === "politikreds")
      .map((spec) => Object.assign({ layer: null, loading: null }, spec));
    const update = () => Promise.all(layers.map(async (spec) => {
      const wanted = map.getZoom() >= spec.minZoom && map.getZoom() <= spec.maxZoom;
      if (wanted && !spec.layer) {
        spec.loading = spec.loading || api(`/api/v1/reference-areas?type=${spec.type}&simplify=${spec.simplify}`,
          { auth: false });
        const data = await spec.loading;
        spec.layer = spec.layer || L.geoJSON(data, { style: spec.style, interactive: false, pane: "reference" });
      }
      if (spec.layer) {
        const wantedNow = map.getZoom() >= spec.minZoom && map.getZoom() <= spec.maxZoom;
        if (wantedNow && !map.hasLayer(spec.layer)) spec.layer.addTo(map);
        if (!wantedNow && map.hasLayer(spec.layer)) map.removeLayer(spec.layer);
      }
    }));
    map.on("zoomend", update);
    return update();
  }

  // Reference outlines get their own pane under the zones, and never catch clicks.
  function ensureReferencePane(map) {
    if (map.getPane("reference")) return;
    map.createPane("reference");
    map.getPane("reference").style.zIndex = 350;
    map.getPane("reference").style.pointerEvents = "none";
  }

  // Leaflet's controls in the page's language (its own words are English).
  function translateMapControls(map) {
    const container = map.getContainer();
    const zoomIn = container.querySelector(".leaflet-control-zoom-in");
    const zoomOut = container.querySelector(".leaflet-control-zoom-out");
    for (const [link, key] of [[zoomIn, "zoomIn"], [zoomOut, "zoomOut"]]) {
      if (!link) continue;
      link.title = t(key);
      link.setAttribute("aria-label", t(key));
    }
    container.querySelectorAll(".leaflet-popup-close-button").forEach((button) => {
      button.setAttribute("href", "#"); // "#close" reads as a skip link to nothing; Leaflet prevents the jump
      button.setAttribute("aria-label", t("closePopup"));
      button.title = t("closePopup");
    });
  }

  function createMap(elementId, view, options = {}) {
    const map = L.map(elementId, Object.assign({ zoomControl: false }, options)).setView(view.center, view.zoom);
    if (options.zoomControl !== false) {
      L.control.zoom({ zoomInTitle: t("zoomIn"), zoomOutTitle: t("zoomOut") }).addTo(map);
    }
    map.attributionControl.setPrefix(false);
    ensureReferencePane(map);
    translateMapControls(map);
    map.on("popupopen", (event) => {
      translateMapControls(map);
      // a popup opened from a button elsewhere (the list) takes the focus, and gives it back when it closes
      const opener = map._gsPopupOpener;
      map._gsPopupOpener = null;
      if (opener) {
        const content = event.popup.getElement().querySelector(".leaflet-popup-content");
        content.tabIndex = -1;
        content.focus();
        event.popup.once("remove", () => { if (document.contains(opener)) opener.focus(); });
      }
    });
    // the page around the map changes size (a header that wraps, a panel that appears): follow it
    const element = map.getContainer();
    if (window.ResizeObserver) {
      new ResizeObserver(() => {
        const size = map.getSize();
        if (size.x !== element.clientWidth || size.y !== element.clientHeight) map.invalidateSize({ animate: false });
      }).observe(element);
    }
    return map;
  }

  // Open a layer's popup for a keyboard user who asked from a button: focus moves into it and back after.
  function openPopupFrom(map, layer, opener) {
    map._gsPopupOpener = opener;
    layer.openPopup();
  }

  // A clock time of the daily window as the language writes it: "00.00" in Danish, "00:00" in English.
  function clockText(hhmm, language = lang) {
    return language === "en" ? hhmm : String(hhmm).replace(":", ".");
  }

  // The nightlife ban's daily window, and whether it applies at the moment asked about: `chosen` says whether
  // that moment is now or one the user picked (a past or future time must not read "now").
  function dailyWindowText(zone, chosen = false) {
    if (!zone.daily_window) return "";
    const vars = { start: clockText(zone.daily_window.start), end: clockText(zone.daily_window.end) };
    if (zone.daily_window_applies === undefined || zone.daily_window_applies === null) return t("dailyWindow", vars);
    if (chosen) return t(zone.daily_window_applies ? "dailyWindowAt" : "dailyWindowNotAt", vars);
    return t(zone.daily_window_applies ? "dailyWindowNow" : "dailyWindowNotNow", vars);
  }

  // The period of the version shown — the one whose decision reference is shown next to it — cut short by an
  // amendment or a revocation; not the whole chain, which a later decision may have extended.
  function versionEnd(p) {
    const end = p.ended_at || p.valid_to || null;
    const chainEnd = p.designation_end || null;
    // a revocation the version itself does not carry (the lookup answer has no ended_at)
    if (chainEnd && (!end || Date.parse(chainEnd) < Date.parse(end))) return chainEnd;
    return end;
  }

  function versionPeriod(p, language = lang) {
    return period(p.valid_from, versionEnd(p), language);
  }

  function versionPeriodEl(p) {
    return periodEl(p.valid_from, versionEnd(p));
  }

  // An end as a date a person reads: the last day "til og med" when it is at midnight, else the exact time.
  function endText(iso, language) {
    return isLocalMidnight(iso) ? dateText(new Date(Date.parse(iso) - 60000).toISOString(), language) : dateTime(iso, language);
  }

  // A separate line when the designation goes on past this version (a later decision extended it, or it goes
  // on with an amended boundary) or was revoked before its end; "" when the version's period says it all.
  function continuation(p, language = lang) {
    const end = versionEnd(p);
    if (!end) return "";
    const say = (key, vars) => textIn(language, key, vars);
    if (p.ended_reason === "revoked") return say("revokedEarly", { date: dateTime(p.valid_to, language) });
    const chainEnd = p.designation_end || null;
    if (!chainEnd) {
      // no end of the chain while the zone is in force: a later decision continues it with no end
      return ["in_force", "expiring"].includes(p.status) ? say("extendedNoEnd") : "";
    }
    if (Date.parse(chainEnd) <= Date.parse(end)) return "";
    if (p.ended_reason === "amended") {
      return say("amendedFrom", { from: dateTime(end, language), until: endText(chainEnd, language) });
    }
    return isLocalMidnight(chainEnd) ? say("extendedUntilIncl", { date: endText(chainEnd, language) })
      : say("extendedUntil", { date: dateTime(chainEnd, language) });
  }

  // A zone's popup as DOM: every text from the data is a text node.
  function zonePopup(kinds, p) {
    // the decision next to the period it covers; an extension by a later decision on a line of its own
    const rows = [
      [t("type"), kindName(kinds, p.kind)],
      [t("legalBasis"), p.legal_basis],
      [t("decision"), p.decision_ref],
      [t("period"), p.valid_from ? versionPeriodEl(p) : null],
    ].filter(([, v]) => v);
    const more = continuation(p);
    return h("div", { class: "popup" },
      h("h2", {}, p.name),
      p.illustrative ? h("span", { class: "badge illustrative" }, t("illustrative")) : null,
      h("dl", {}, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
      more ? h("p", { class: "continues" }, more) : null,
      p.daily_window ? h("p", { class: "window" }, dailyWindowText(p)) : null);
  }

  // A login box for the staff pages. The token is kept for this browser tab only (sessionStorage).
  function loginForm(container, onSubmit) {
    const input = h("input", { type: "password", name: "token", autocomplete: "off", required: true });
    const message = h("p", { class: "message", role: "alert" });
    const form = h("form", { class: "login", "aria-label": t("login") },
      h("label", {}, t("token"), " ", input), h("button", { type: "submit" }, t("login")), message);
    fill(container, form);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      setToken(input.value.trim());
      try {
        await onSubmit();
      } catch (error) {
        clearToken();
        // a valid key of another role is not a bad key: say that the role lacks access
        message.textContent = error.status === 403 ? error.message : `${t("badToken")} (${errorText(error)})`;
      }
    });
  }

  // Ask who the token is; refuse unless one of `roles`. Resolves to the identity, or rejects with a message.
  async function requireRole(roles) {
    const names = roles.map(roleName).join(", ");
    if (!token()) throw Object.assign(new Error(t("needsRole", { roles: names })), { status: 401 });
    const me = await api("/api/v1/me");
    if (!roles.includes(me.role)) {
      throw Object.assign(new Error(t("roleLacksAccess", { role: roleName(me.role), roles: names })), { status: 403 });
    }
    return me;
  }

  // The frame of a staff page: check the token's role, then run `start(me)`; without a token of one of
  // `roles`, say so and offer the login form (the page draws no data). Also wires the #logout button.
  async function staffPage(roles, start) {
    const auth = document.getElementById("auth");
    document.getElementById("logout")?.addEventListener("click", () => { clearToken(); location.reload(); });
    const run = async () => {
      const me = await requireRole(roles);
      fill(auth, h("p", { class: "status" }, `${me.username} (${roleName(me.role)})`));
      await start(me);
    };
    try {
      await run();
    } catch (error) {
      const reason = error.problem ? errorText(error) : error.message;
      const message = error.status === 403 ? `${t("refused")}: ${reason}` : reason;
      const login = h("div", { id: "login" });
      fill(auth, h("div", { class: "refused" }, h("h2", {}, t("refused")),
        h("p", { id: "refusal", role: "alert" }, message), login));
      loginForm(login, run);
      document.body.dataset.ready = "refused";
    }
  }

  // Place search box: results from our own API, keyboard navigable (combobox with a listbox). `options.only`
  // keeps one type of result (the legal page's zone search), `options.empty` is said when nothing is left.
  // Only the newest answer is shown: a slow answer to "Nør" never replaces the one to "Nørrebrogade".
  function searchBox(input, list, onPick, extraParams = () => ({}), options = {}) {
    let timer = null;
    let results = [];
    let active = -1;
    let said = "";
    let aside = ""; // a line under the results that is not a result (streets cannot be searched right now)
    const requests = latest();
    const detail = (r) => (lang === "en" && r.detail_en) || r.detail || r.type;
    const render = () => {
      const items = results.map((r, i) => h("li", { role: "option", id: `${list.id}-opt-${i}`, tabindex: "-1",
        "aria-selected": String(i === active), "data-index": i, "data-type": r.type },
        h("strong", {}, r.name), " ", h("span", {}, detail(r))));
      if (!items.length && said) items.push(h("li", { class: "empty", role: "option", "aria-disabled": "true" }, said));
      if (aside) items.push(h("li", { class: "aside", role: "option", "aria-disabled": "true" }, aside));
      fill(list, items);
      list.hidden = items.length === 0;
      input.setAttribute("aria-expanded", String(!list.hidden));
      if (active >= 0 && results[active]) input.setAttribute("aria-activedescendant", `${list.id}-opt-${active}`);
      else input.removeAttribute("aria-activedescendant");
    };
    const clear = () => { results = []; said = ""; aside = ""; active = -1; render(); };
    const pick = (i) => {
      const result = results[i];
      if (!result) return;
      clear();
      onPick(result);
    };
    input.addEventListener("input", () => {
      clearTimeout(timer);
      const q = input.value.trim();
      if (!q) { requests.cancel(); clear(); return; }
      timer = setTimeout(async () => {
        const ticket = requests.start();
        const params = new URLSearchParams(Object.assign({ q, limit: options.only ? 20 : 8 }, extraParams()));
        let body = null;
        let failure = null;
        try {
          body = await api(`/api/v1/search?${params}`, { signal: ticket.signal });
        } catch (error) {
          failure = error;
        }
        if (!ticket.current()) return;
        results = body ? body.results : [];
        if (options.only) results = results.filter((r) => r.type === options.only).slice(0, 8);
        if (failure) said = t("searchFailed", { reason: errorText(failure) });
        else if (!results.length) said = options.empty || t("noResults", { q });
        else said = "";
        // without the address register (none configured, or it failed) a street name finds only what the offline
        // index holds: say so, unless the text named something exactly or was a coordinate
        const exact = results.some((r) => r.type === "coordinates" || r.name.toLowerCase() === q.toLowerCase());
        aside = body && !options.only && body.geocoder !== "ok" && !exact ? t("offlineSearchNote") : "";
        active = results.length ? 0 : -1;
        render();
      }, 200);
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "ArrowDown" && results.length) { active = Math.min(results.length - 1, active + 1); render(); event.preventDefault(); }
      if (event.key === "ArrowUp" && results.length) { active = Math.max(0, active - 1); render(); event.preventDefault(); }
      if (event.key === "Enter") { event.preventDefault(); pick(active < 0 ? 0 : active); }
      if (event.key === "Escape") clear();
    });
    list.addEventListener("click", (event) => {
      const item = event.target.closest("li[data-index]");
      if (item) pick(+item.dataset.index);
    });
  }

  function goTo(map, result, marker) {
    if (result.bbox) {
      map.fitBounds([[result.bbox[1], result.bbox[0]], [result.bbox[3], result.bbox[2]]], { maxZoom: 16 });
    } else {
      map.setView([result.lat, result.lon], Math.max(map.getZoom(), 16));
    }
    if (marker) marker.setLatLng([result.lat, result.lon]).addTo(map);
  }

  return {
    t, setLang, translatePage, versionPeriod, versionPeriodEl, continuation, get lang() { return lang; }, dateTime,
    dateText, period, periodEl, localInputValue, localParts, resolveWall, number, countText, roleName, lastDay,
    token, setToken, clearToken, api, errorText, escapeHtml, kinds, kindName, styleFor, simplifyForZoom,
    addReferenceLayers, createMap, translateMapControls, openPopupFrom, zonePopup, dailyWindowText, loginForm,
    requireRole, staffPage, searchBox, goTo, h, svg, fill, latest, compareText,
  };
})();
