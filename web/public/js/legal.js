// Legal staff: the validity report as a sortable table with status badges and days left, a timeline per zone
// (designations, extensions, amendments, revocation) with its audit trail, and the as-of check.
"use strict";

(async function main() {
  const ROLES = ["legal", "admin"];
  const SECTION = {
    expiring: { da: "Udløber snart", badge: "expiring" },
    expired_still_published: { da: "Udløbet, stadig offentliggjort", badge: "expired" },
    chain_gaps: { da: "Hul i kæden", badge: "gap" },
    chain_overlaps: { da: "Overlap", badge: "overlap" },
    missing_decision_ref: { da: "Mangler afgørelsesreference", badge: "missing" },
    overrides: { da: "Regel tilsidesat", badge: "override" },
  };
  // Status codes of the API (zone_status_at, version_status_at, the report's badges) as Danish labels.
  const STATUS_DA = {
    in_force: "I kraft", expiring: "Udløber snart", expired: "Udløbet", scheduled: "Planlagt", revoked: "Ophævet",
    draft: "Udkast", superseded: "Afløst", withdrawn: "Trukket tilbage før start", archived: "Arkiveret",
    gap: "Hul", overlap: "Overlap",
    missing: "Mangler afgørelse", override: "Tilsidesat regel", overdue: "Forfaldne",
  };
  const CHANGE_DA = { designation: "udpegning", extension: "forlængelse", amendment: "ændring" };
  const statusText = (code) => STATUS_DA[code] || code;
  // The audit trail's actions in Danish (the code stays beside it, as the log has it).
  const ACTION_DA = {
    "zone.create": "Oprettet", "zone.update": "Ændret", "zone.publish": "Offentliggjort", "zone.extend": "Forlænget",
    "zone.amend": "Afgrænsning ændret", "zone.revoke": "Ophævet", "zone.archive": "Arkiveret",
    "zone.delete_draft": "Udkast slettet",
    "demo.load": "Indlæst som demodata",
  };
  const COLUMNS = ["Zone", "Type", "Status", "Fund", "Dage", "Detaljer"]; // the labels of a row's cells on a phone
  let kinds = {};
  let rows = [];
  let sort = { key: "days", dir: 1 };
  let asofMap = null;
  let asofMarker = null;
  let asofZones = null;
  const reportRequests = GS.latest();
  const timelineRequests = GS.latest();
  const asofRequests = GS.latest();

  await GS.staffPage(ROLES, start);

  async function start(me) {
    kinds = await GS.kinds();
    document.getElementById("content").hidden = false;
    document.getElementById("controls").hidden = false;
    document.getElementById("asof-form").hidden = false;
    const reportAt = document.getElementById("report-at");
    reportAt.value = GS.localInputValue();
    reportAt.addEventListener("change", loadReport);
    document.querySelectorAll("#report-table th button").forEach((button) => button.addEventListener("click", () => {
      const key = button.dataset.key;
      sort = { key, dir: sort.key === key ? -sort.dir : 1 };
      renderTable();
    }));
    // zones only: Enter always opens a zone's timeline, or the list says that no zone matches
    GS.searchBox(document.getElementById("zone-search"), document.getElementById("zone-search-results"), (r) => {
      showTimeline(Number(r.ref));
    }, () => ({}), { only: "zone", empty: GS.t("noZoneHit") });
    const config = await GS.api("/api/v1/config", { auth: false });
    setupAsOf(config);
    await loadReport();
    document.body.dataset.ready = "true";
  }

  // A date being typed digit by digit ("0002-…") is not a moment to ask about: say so, ask nothing.
  function plausible(value) {
    const m = /^(\d{4})-\d{2}-\d{2}T\d{2}:\d{2}/.exec(value || "");
    return Boolean(m) && +m[1] >= 1990 && +m[1] <= 2100;
  }

  async function loadReport() {
    const field = document.getElementById("report-at");
    const note = document.getElementById("report-time-note");
    if (!plausible(field.value)) {
      note.textContent = "Skriv en hel dato med et firecifret årstal (fx 2026); rapporten gælder stadig det forrige tidspunkt.";
      note.hidden = false;
      return;
    }
    // a time that happens twice or not at all on a DST night: resolved here, with an offset, and said
    const time = GS.resolveWall(field.value);
    const params = new URLSearchParams(time.at ? { at: time.at } : {});
    note.textContent = time.note;
    note.hidden = !time.note;
    const ticket = reportRequests.start();
    let report;
    try {
      report = await GS.api(`/api/v1/validity/report?${params}`, { signal: ticket.signal });
    } catch (error) {
      if (!ticket.current()) return;
      note.textContent = `${GS.t("error")}: ${GS.errorText(error)}`;
      note.hidden = false;
      return;
    }
    if (!ticket.current()) return; // a later time was asked for meanwhile
    document.getElementById("report-csv").href = `/api/v1/validity/report?${params}&format=csv`;
    GS.fill(document.getElementById("counts"), Object.entries(report.status_counts).map(([status, n]) =>
      GS.h("span", { class: `badge ${status}`, "data-status": status }, `${statusText(status)}: ${GS.number(n, 0)}`)),
    " ", GS.h("span", { class: `badge ${report.overdue ? "expired" : "in_force"}`, title: "Udløbet, men stadig offentliggjort" },
      `${statusText("overdue")}: ${GS.number(report.overdue, 0)}`));
    rows = [];
    for (const [section, items] of Object.entries(report)) {
      if (!SECTION[section]) continue;
      for (const item of items) rows.push(rowFor(section, item));
    }
    renderTable();
    document.getElementById("report-table").dataset.reportAt = report.at;
  }

  function rowFor(section, item) {
    const row = { section, sectionText: SECTION[section].da, zoneId: item.zone_id, name: item.name,
      kind: GS.kindName(kinds, item.kind), badge: SECTION[section].badge, days: null, detail: "" };
    switch (section) {
      case "expiring":
        row.days = item.days_left; row.badge = "expiring"; row.daysText = daysLeftText(item.days_left);
        row.detail = `Sidste dag ${endText(item.designation_end)} (varsler ${item.warning_days.join("/")} dage)`;
        row.exact = item.designation_end;
        break;
      case "expired_still_published":
        row.days = -item.days_since; row.badge = "expired"; row.daysText = daysSinceText(item.days_since);
        row.detail = `Udløb ${GS.dateTime(item.expired_at)}; arkivér eller forlæng`;
        row.exact = item.expired_at;
        break;
      case "chain_gaps":
        row.detail = `Hul ${GS.dateTime(item.gap_from)} – ${GS.dateTime(item.gap_to)} før version ${item.version}`;
        break;
      case "chain_overlaps":
        row.detail = `Version ${item.version} overlapper ${GS.dateTime(item.overlap_from)} – ${GS.dateTime(item.overlap_to)}`;
        break;
      case "missing_decision_ref":
        row.detail = `Version ${item.version} offentliggjort ${GS.dateTime(item.published_at)} uden afgørelse`;
        break;
      case "overrides":
        row.detail = `Version ${item.version}: «${item.rule}» – ${item.reason}`;
        break;
    }
    row.badgeText = statusText(row.badge);
    return row;
  }

  // An end at local midnight as the last day it covers ("til og med"); otherwise the exact time.
  function endText(iso) {
    const p = GS.localParts(iso);
    return p.hour === "00" && p.minute === "00" ? `${GS.lastDay(iso)} (til og med)` : GS.dateTime(iso);
  }

  // Whole days, as a lawyer reads them: "23 dage", "udløbet for 531 dage siden".
  function daysLeftText(days) {
    const n = Math.round(days);
    return n <= 0 ? "under en dag" : n === 1 ? "1 dag" : `${GS.number(n, 0)} dage`;
  }

  function daysSinceText(days) {
    const n = Math.round(days);
    return n <= 0 ? "udløbet i dag" : n === 1 ? "udløbet for 1 dag siden" : `udløbet for ${GS.number(n, 0)} dage siden`;
  }

  function renderTable() {
    const sortKey = sort.key === "badge" ? "badgeText" : sort.key;
    const sorted = [...rows].sort((a, b) => {
      const x = a[sortKey], y = b[sortKey];
      if (x === y) return GS.compareText(a.name, b.name);
      if (x === null) return 1;
      if (y === null) return -1;
      return (typeof x === "number" ? x - y : GS.compareText(String(x), String(y))) * sort.dir;
    });
    document.querySelectorAll("#report-table th").forEach((th) => {
      const key = th.querySelector("button")?.dataset.key;
      if (key) th.setAttribute("aria-sort", key === sort.key ? (sort.dir > 0 ? "ascending" : "descending") : "none");
    });
    const cell = (i, ...content) => GS.h("td", { "data-label": COLUMNS[i] }, ...content);
    GS.fill(document.querySelector("#report-table tbody"), sorted.length ? sorted.map((r) => {
      const link = GS.h("a", { href: `#zone=${r.zoneId}`, "data-zone": r.zoneId }, r.name);
      link.addEventListener("click", (event) => {
        event.preventDefault();
        showTimeline(Number(r.zoneId));
      });
      return GS.h("tr", {}, GS.h("th", { scope: "row" }, link), cell(1, r.kind),
        cell(2, GS.h("span", { class: `badge ${r.badge}`, "data-status": r.badge }, r.badgeText)),
        cell(3, r.sectionText), GS.h("td", { "data-days": r.days ?? "", "data-label": COLUMNS[4] }, r.daysText || ""),
        cell(5, GS.h("span", { title: r.exact ? GS.dateTime(r.exact) : null }, r.detail)));
    }) : GS.h("tr", {}, GS.h("td", { colspan: 6 }, "Ingen fund / ", GS.h("span", { lang: "en" }, "no findings"))));
  }

  async function showTimeline(zoneId) {
    const ticket = timelineRequests.start();
    let history;
    try {
      history = await GS.api(`/api/v1/zones/${zoneId}/history`, { signal: ticket.signal });
    } catch (error) {
      if (ticket.current()) GS.fill(document.getElementById("timeline"), GS.h("p", { class: "error" }, GS.errorText(error)));
      return;
    }
    if (!ticket.current()) return; // another zone was picked meanwhile
    document.getElementById("timeline-zone").textContent = `– ${history.zone.name} (${statusText(history.zone.status)})`;
    GS.fill(document.getElementById("timeline"), timelineSvg(history), versionList(history));
    GS.fill(document.getElementById("events"), GS.h("h3", {}, "Hændelser / ", GS.h("span", { lang: "en" }, "recorded steps")),
      GS.h("ol", { class: "events" }, (history.events || []).map((e) => GS.h("li", {},
        GS.h("time", { datetime: e.at }, GS.dateTime(e.at)), ` ${ACTION_DA[e.action] || e.action} `,
        GS.h("code", {}, e.action), e.version ? ` (v${e.version})` : null, ` – ${e.actor}`,
        e.reason ? `: «${e.reason}»` : null))));
    document.getElementById("h-timeline").scrollIntoView({ behavior: "smooth" });
  }

  // Each version's start and end as text too (the bars say it only to the eye and in a hover title).
  function versionList(history) {
    return GS.h("ol", { class: "versions" }, history.versions.map((v) => {
      const change = CHANGE_DA[v.change] || v.change;
      const ENDED = { revoked: "ophævet", amended: "ændret", withdrawn: "trukket tilbage, aldrig i kraft" };
      const ended = v.ended_at ? `; ${ENDED[v.ended_reason] || v.ended_reason} ${GS.dateTime(v.ended_at)}` : "";
      return GS.h("li", { "data-version": v.version }, GS.h("strong", {}, `v${v.version} ${change}`),
        v.state === "draft" ? " (udkast)" : null, ` · ${v.decision_ref || "uden afgørelsesreference"}: `,
        GS.periodEl(v.valid_from, v.valid_to), ended);
    }));
  }

  // One row per version on a shared time axis; the part cut off by an amendment or a revocation is hatched.
  function timelineSvg(history) {
    const versions = history.versions;
    const now = Date.now();
    const times = versions.flatMap((v) => [Date.parse(v.valid_from), v.valid_to ? Date.parse(v.valid_to) : now]);
    const span = Math.max(...times) - Math.min(...times);
    const pad = Math.max(span * 0.05, 86400000);
    const start = Math.min(...times) - pad;
    const end = Math.max(...times) + pad;
    const width = 760, left = 200, rowH = 34, top = 24;
    const x = (ms) => left + ((ms - start) / (end - start)) * (width - left - 10);
    const colours = { designation: "#457b9d", extension: "#2a9d8f", amendment: "#e9c46a" };
    const S = GS.svg;
    const bars = versions.map((v, i) => {
      const from = Date.parse(v.valid_from);
      const to = v.valid_to ? Date.parse(v.valid_to) : end;
      const cut = v.ended_at ? Date.parse(v.ended_at) : null;
      const y = top + i * rowH;
      // two lines, nothing cut: the version and its change, then the whole decision reference
      const change = CHANGE_DA[v.change] || v.change;
      const head = `v${v.version} ${change}${v.state === "draft" ? " (udkast)" : ""}`;
      const ref = v.decision_ref || "uden afgørelsesreference";
      const ENDED = { revoked: "Ophævet", amended: "Ændret", withdrawn: "Trukket tilbage, aldrig i kraft" };
      const ended = v.ended_at ? `\n${ENDED[v.ended_reason] || v.ended_reason} ${GS.dateTime(v.ended_at)}` : "";
      const title = `${head} · ${ref}\n${GS.period(v.valid_from, v.valid_to)}${ended}`;
      const squeeze = ref.length > 30 ? { textLength: left - 10, lengthAdjust: "spacingAndGlyphs" } : {};
      return S("g", { class: "version", "data-version": v.version }, S("title", {}, title),
        S("text", { x: 4, y: y + 13, "font-weight": 600 }, head),
        S("text", Object.assign({ x: 4, y: y + 27 }, squeeze), ref),
        S("rect", { x: x(from), y: y + 3, width: Math.max(2, x(cut ?? to) - x(from)), height: rowH - 8,
          fill: colours[v.change] || "#999", "fill-opacity": v.state === "draft" ? 0.35 : null }),
        cut !== null && cut < to ? S("rect", { x: x(cut), y: y + 3, width: Math.max(1, x(to) - x(cut)), height: rowH - 8,
          fill: "url(#hatch)", stroke: "#c00" }) : null);
    });
    const bottom = top + versions.length * rowH;
    const revokedAt = history.zone.revoked_at ? Date.parse(history.zone.revoked_at) : null;
    const revoked = revokedAt !== null ? S("line", { x1: x(revokedAt), x2: x(revokedAt), y1: 10, y2: bottom, stroke: "#c00",
      "stroke-width": 2 }, S("title", {}, `Ophævet ${GS.dateTime(history.zone.revoked_at)}`)) : null;
    const ticks = [0.1, 0.5, 0.9].map((f) => start + f * (end - start)).map((ms) => S("text", { x: x(ms), y: 14,
      "text-anchor": "middle" }, GS.dateText(new Date(ms).toISOString())));
    const nowLine = now >= start && now <= end
      ? S("line", { class: "today", x1: x(now), x2: x(now), y1: 18, y2: bottom + 10 }, S("title", {}, "Nu")) : null;
    return S("svg", { class: "timeline", viewBox: `0 0 ${width} ${bottom + 20}`, role: "img",
      "aria-label": `Tidslinje for ${history.zone.name}: ${GS.countText(versions.length, "version", "versioner")}` },
    S("defs", {}, S("pattern", { id: "hatch", width: 6, height: 6, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" },
      S("line", { x1: 0, y1: 0, x2: 0, y2: 6, stroke: "#c00", "stroke-width": 2 }))),
    ticks, bars, revoked, nowLine);
  }

  function setupAsOf(config) {
    asofMap = GS.createMap("asof-map", { center: [55.68, 12.57], zoom: 11 });
    GS.addReferenceLayers(asofMap, config).catch(() => {});
    asofZones = L.geoJSON(null, { style: (f) => GS.styleFor(kinds, f) }).addTo(asofMap);
    asofMarker = L.circleMarker([0, 0], { radius: 7, color: "#111", fillColor: "#ffd60a", fillOpacity: 1 });
    const time = document.getElementById("asof-time");
    const timeNote = document.getElementById("asof-time-note");
    time.value = GS.localInputValue();
    let point = null;
    const result = document.getElementById("asof-result");
    const check = async () => {
      if (!point) return;
      if (!plausible(time.value)) {
        timeNote.textContent = "Skriv en hel dato med et firecifret årstal (fx 2026), før der slås op.";
        timeNote.hidden = false;
        return;
      }
      timeNote.hidden = true;
      asofMarker.setLatLng(point).addTo(asofMap);
      const moment = GS.resolveWall(time.value); // a DST night's repeated or skipped time, resolved and said
      const params = new URLSearchParams({ lat: point[0].toFixed(6), lon: point[1].toFixed(6), at: moment.at });
      const zonesParams = new URLSearchParams({ at: moment.at, limit: 1000, simplify: 5,
        bbox: `${point[1] - 0.02},${point[0] - 0.015},${point[1] + 0.02},${point[0] + 0.015}` });
      const ticket = asofRequests.start();
      result.setAttribute("aria-busy", "true");
      try {
        const [body, zones] = await Promise.all([GS.api(`/api/v1/lookup?${params}`, { signal: ticket.signal }),
          GS.api(`/api/v1/zones?${zonesParams}`, { signal: ticket.signal })]);
        if (!ticket.current()) return; // only the newest place and time answer
        asofZones.clearLayers().addData(zones);
        GS.fill(result, moment.note ? GS.h("p", { class: "time-note" }, moment.note) : null, asofView(body));
      } catch (error) {
        if (!ticket.current()) return;
        GS.fill(result, GS.h("p", { class: "error" }, GS.errorText(error)));
      } finally {
        if (ticket.current()) result.removeAttribute("aria-busy");
      }
    };
    asofMap.on("click", (e) => { point = [e.latlng.lat, e.latlng.lng]; check(); });
    time.addEventListener("change", check);
    GS.searchBox(document.getElementById("asof-place"), document.getElementById("asof-results"), (r) => {
      point = [r.lat, r.lon];
      asofMap.setView(point, 15);
      check();
    });
  }

  function asofView(body) {
    const zones = body.zones.map((z) => GS.h("li", {}, GS.h("strong", {}, z.name), ` (${GS.kindName(kinds, z.kind)}), `,
      `v${z.version}, ${z.decision_ref || "uden afgørelsesreference"}`, GS.h("br"), GS.versionPeriodEl(z),
      GS.continuation(z) ? ` (${GS.continuation(z)})` : null, ` · ${z.legal_basis || ""}`,
      z.daily_window ? [GS.h("br"), GS.h("em", {}, `Døgnvindue kl. ${z.daily_window.start.replace(":", ".")}–` +
        `${z.daily_window.end.replace(":", ".")}: ${z.daily_window_applies ? "forbuddet gjaldt på tidspunktet"
          : "forbuddet gjaldt ikke på tidspunktet"}`)] : null));
    return [GS.h("p", { class: "answer-for", "data-at": body.at }, `${GS.dateTime(body.at)} · ` +
      `${body.point.lat.toFixed(5)}, ${body.point.lon.toFixed(5)}`, body.municipality ? ` · ${body.municipality.name}` : null),
    zones.length ? GS.h("ul", { class: "hits" }, zones) : GS.h("p", {}, "Ingen zone var i kraft her på det tidspunkt.")];
  }
})();
