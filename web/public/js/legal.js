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
    draft: "Udkast", superseded: "Afløst", archived: "Arkiveret", gap: "Hul", overlap: "Overlap",
    missing: "Mangler afgørelse", override: "Tilsidesat regel", overdue: "Forfaldne",
  };
  const CHANGE_DA = { designation: "udpegning", extension: "forlængelse", amendment: "ændring" };
  const statusText = (code) => STATUS_DA[code] || code;
  // The audit trail's actions in Danish (the code stays beside it, as the log has it).
  const ACTION_DA = {
    "zone.create": "Oprettet", "zone.update": "Ændret", "zone.publish": "Offentliggjort", "zone.extend": "Forlænget",
    "zone.amend": "Afgrænsning ændret", "zone.revoke": "Ophævet", "zone.archive": "Arkiveret",
    "demo.load": "Indlæst som demodata",
  };
  let kinds = {};
  let rows = [];
  let sort = { key: "days", dir: 1 };
  let asofMap = null;
  let asofMarker = null;
  let asofZones = null;

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
    setupAsOf();
    await loadReport();
    document.body.dataset.ready = "true";
  }


  async function loadReport() {
    // a time that happens twice or not at all on a DST night: resolved here, with an offset, and said
    const time = GS.resolveWall(document.getElementById("report-at").value);
    const params = new URLSearchParams(time.at ? { at: time.at } : {});
    const note = document.getElementById("report-time-note");
    note.textContent = time.note;
    note.hidden = !time.note;
    const report = await GS.api(`/api/v1/validity/report?${params}`);
    document.getElementById("report-csv").href = `/api/v1/validity/report?${params}&format=csv`;
    document.getElementById("counts").innerHTML = Object.entries(report.status_counts)
      .map(([status, n]) => `<span class="badge ${status}" data-status="${status}">${GS.escapeHtml(statusText(status))}: ${n}</span>`).join("") +
      ` <span class="badge ${report.overdue ? "expired" : "in_force"}" title="Udløbet, men stadig offentliggjort">` +
      `${statusText("overdue")}: ${report.overdue}</span>`;
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
        row.detail = `Ophører ${GS.dateTime(item.designation_end)} (varsler ${item.warning_days.join("/")} dage)`;
        break;
      case "expired_still_published":
        row.days = -item.days_since; row.badge = "expired"; row.daysText = daysSinceText(item.days_since);
        row.detail = `Udløb ${GS.dateTime(item.expired_at)}; arkivér eller forlæng`;
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

  // Whole days, as a lawyer reads them: "23 dage", "udløbet for 531 dage siden".
  function daysLeftText(days) {
    const n = Math.round(days);
    return n <= 0 ? "under en dag" : n === 1 ? "1 dag" : `${n} dage`;
  }

  function daysSinceText(days) {
    const n = Math.round(days);
    return n <= 0 ? "udløbet i dag" : n === 1 ? "udløbet for 1 dag siden" : `udløbet for ${n} dage siden`;
  }

  function renderTable() {
    const sortKey = sort.key === "badge" ? "badgeText" : sort.key;
    const sorted = [...rows].sort((a, b) => {
      const x = a[sortKey], y = b[sortKey];
      if (x === y) return a.name.localeCompare(b.name, "da");
      if (x === null) return 1;
      if (y === null) return -1;
      return (typeof x === "number" ? x - y : String(x).localeCompare(String(y), "da")) * sort.dir;
    });
    document.querySelectorAll("#report-table th").forEach((th) => {
      const key = th.querySelector("button")?.dataset.key;
      if (key) th.setAttribute("aria-sort", key === sort.key ? (sort.dir > 0 ? "ascending" : "descending") : "none");
    });
    document.querySelector("#report-table tbody").innerHTML = sorted.map((r) => `<tr>
        <th scope="row"><a href="#zone=${r.zoneId}" data-zone="${r.zoneId}">${GS.escapeHtml(r.name)}</a></th>
        <td>${GS.escapeHtml(r.kind)}</td><td><span class="badge ${r.badge}" data-status="${r.badge}">${GS.escapeHtml(r.badgeText)}</span></td>
        <td>${GS.escapeHtml(r.sectionText)}</td><td data-days="${r.days ?? ""}">${GS.escapeHtml(r.daysText || "")}</td><td>${GS.escapeHtml(r.detail)}</td>
      </tr>`).join("") || `<tr><td colspan="6">Ingen fund / no findings</td></tr>`;
    document.querySelectorAll("#report-table a[data-zone]").forEach((a) => a.addEventListener("click", (event) => {
      event.preventDefault();
      showTimeline(Number(a.dataset.zone));
    }));
  }

  async function showTimeline(zoneId) {
    const history = await GS.api(`/api/v1/zones/${zoneId}/history`);
    document.getElementById("timeline-zone").textContent = `– ${history.zone.name} (${statusText(history.zone.status)})`;
    document.getElementById("timeline").innerHTML = timelineSvg(history);
    document.getElementById("events").innerHTML = `<h3>Hændelser / recorded steps</h3><ol class="events">${
      (history.events || []).map((e) => `<li><time>${GS.escapeHtml(GS.dateTime(e.at))}</time> ${GS.escapeHtml(ACTION_DA[e.action] || e.action)}
        <code>${GS.escapeHtml(e.action)}</code>
        ${e.version ? `(v${e.version})` : ""} – ${GS.escapeHtml(e.actor)}${e.reason ? `: «${GS.escapeHtml(e.reason)}»` : ""}</li>`).join("")
    }</ol>`;
    document.getElementById("h-timeline").scrollIntoView({ behavior: "smooth" });
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
    const bars = versions.map((v, i) => {
      const from = Date.parse(v.valid_from);
      const to = v.valid_to ? Date.parse(v.valid_to) : end;
      const cut = v.ended_at ? Date.parse(v.ended_at) : null;
      const y = top + i * rowH;
      // two lines, nothing cut: the version and its change, then the whole decision reference
      const change = CHANGE_DA[v.change] || v.change;
      const head = `v${v.version} ${change}${v.state === "draft" ? " (udkast)" : ""}`;
      const ref = v.decision_ref || "uden afgørelsesreference";
      const ended = v.ended_at ? `\n${v.ended_reason === "revoked" ? "Ophævet" : "Ændret"} ${GS.dateTime(v.ended_at)}` : "";
      const title = `${head} · ${ref}\n${GS.period(v.valid_from, v.valid_to)}${ended}`;
      const squeeze = ref.length > 30 ? ` textLength="${left - 10}" lengthAdjust="spacingAndGlyphs"` : "";
      return `<g class="version" data-version="${v.version}"><title>${GS.escapeHtml(title)}</title>
        <text x="4" y="${y + 13}" font-weight="600">${GS.escapeHtml(head)}</text>
        <text x="4" y="${y + 27}"${squeeze}>${GS.escapeHtml(ref)}</text>
        <rect x="${x(from)}" y="${y + 3}" width="${Math.max(2, x(cut ?? to) - x(from))}" height="${rowH - 8}"
              fill="${colours[v.change] || "#999"}" ${v.state === "draft" ? 'fill-opacity="0.35"' : ""}></rect>
        ${cut !== null && cut < to ? `<rect x="${x(cut)}" y="${y + 3}" width="${Math.max(1, x(to) - x(cut))}" height="${rowH - 8}"
              fill="url(#hatch)" stroke="#c00"></rect>` : ""}</g>`;
    }).join("");
    const revoked = history.zone.revoked_at
      ? `<line x1="${x(Date.parse(history.zone.revoked_at))}" x2="${x(Date.parse(history.zone.revoked_at))}" y1="10"
           y2="${top + versions.length * rowH}" stroke="#c00" stroke-width="2"><title>Ophævet ${GS.escapeHtml(GS.dateTime(history.zone.revoked_at))}</title></line>` : "";
    const height = top + versions.length * rowH + 20;
    const ticks = [0.1, 0.5, 0.9].map((f) => start + f * (end - start)).map((ms) => `<text x="${x(ms)}" y="14"
        text-anchor="middle">${GS.escapeHtml(GS.dateTime(new Date(ms).toISOString()).replace(/ kl\..*$/, ""))}</text>`).join("");
    const nowLine = now >= start && now <= end
      ? `<line class="today" x1="${x(now)}" x2="${x(now)}" y1="18" y2="${top + versions.length * rowH + 10}"><title>Nu / now</title></line>` : "";
    return `<svg class="timeline" viewBox="0 0 ${width} ${height}" role="img"
        aria-label="Tidslinje for ${GS.escapeHtml(history.zone.name)}: ${versions.length} versioner">
      <defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
        <line x1="0" y1="0" x2="0" y2="6" stroke="#c00" stroke-width="2"></line></pattern></defs>
      ${ticks}${bars}${revoked}${nowLine}
    </svg>`;
  }

  function setupAsOf() {
    asofMap = GS.createMap("asof-map", { center: [55.68, 12.57], zoom: 11 });
    GS.addReferenceLayers(asofMap, null).catch(() => {});
    asofZones = L.geoJSON(null, { style: (f) => GS.styleFor(kinds, f) }).addTo(asofMap);
    asofMarker = L.circleMarker([0, 0], { radius: 7, color: "#111", fillColor: "#ffd60a", fillOpacity: 1 });
    const time = document.getElementById("asof-time");
    time.value = GS.localInputValue();
    let point = null;
    const check = async () => {
      if (!point) return;
      asofMarker.setLatLng(point).addTo(asofMap);
      const moment = GS.resolveWall(time.value); // a DST night's repeated or skipped time, resolved and said
      const params = new URLSearchParams({ lat: point[0].toFixed(6), lon: point[1].toFixed(6), at: moment.at });
      const zonesParams = new URLSearchParams({ at: moment.at, limit: 1000, simplify: 5,
        bbox: `${point[1] - 0.02},${point[0] - 0.015},${point[1] + 0.02},${point[0] + 0.015}` });
      try {
        const [body, zones] = await Promise.all([GS.api(`/api/v1/lookup?${params}`), GS.api(`/api/v1/zones?${zonesParams}`)]);
        asofZones.clearLayers().addData(zones);
        document.getElementById("asof-result").innerHTML =
          (moment.note ? `<p class="time-note">${GS.escapeHtml(moment.note)}</p>` : "") + asofHtml(body);
      } catch (error) {
        document.getElementById("asof-result").innerHTML = `<p class="error">${GS.escapeHtml(error.message)}</p>`;
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

  function asofHtml(body) {
    const zones = body.zones.map((z) => `<li><strong>${GS.escapeHtml(z.name)}</strong> (${GS.escapeHtml(GS.kindName(kinds, z.kind))}),
        v${z.version}, ${GS.escapeHtml(z.decision_ref || "uden afgørelsesreference")}<br>
        ${GS.escapeHtml(GS.versionPeriod(z))}${GS.continuation(z) ? ` (${GS.escapeHtml(GS.continuation(z))})` : ""}
        · ${GS.escapeHtml(z.legal_basis || "")}
        ${z.daily_window ? `<br><em>Døgnvindue kl. ${z.daily_window.start.replace(":", ".")}–${z.daily_window.end.replace(":", ".")}: ${z.daily_window_applies
          ? "forbuddet gjaldt på tidspunktet" : "forbuddet gjaldt ikke på tidspunktet"}</em>` : ""}</li>`).join("");
    return `<p>${GS.escapeHtml(GS.dateTime(body.at))} · ${body.point.lat.toFixed(5)}, ${body.point.lon.toFixed(5)}
        ${body.municipality ? ` · ${GS.escapeHtml(body.municipality.name)}` : ""}</p>
      ${zones ? `<ul class="hits">${zones}</ul>` : "<p>Ingen zone var i kraft her på det tidspunkt.</p>"}`;
  }
})();
