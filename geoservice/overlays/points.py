"""Raw points: incidents and insecurity reports, as each role may see them (geoservice.access), the officer's
"what is happening in my sector", and creating and handling insecurity reports."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson

from geoservice import timeutil
from geoservice.access import Principal, overlay_access, require_raw_points
from geoservice.db import Database
from geoservice.errors import FieldError, Forbidden, InvalidInput, NotFound, OutsideDenmark
from geoservice.geometry import MAX_DISTANCE_FROM_DENMARK_M, check_point_in_denmark
from geoservice.overlays.schemas import ReportIn, ReportPatch
from geoservice.overlays.taxonomy import get_overlay_rules
from geoservice.store import overlays as store
from geoservice.store.overlays import PointQuery


def _collection(row: dict[str, Any], extra: dict[str, Any]) -> bytes:
    head = orjson.dumps({"type": "FeatureCollection", "numberMatched": int(row["total"]),
                         "numberReturned": int(row["returned"]), **extra})
    return head[:-1] + b',"features":' + row["features"].encode() + b"}"


def _scoped(principal: Principal, politikreds: str | None, action: str) -> str | None:
    """The politikreds a raw-point query is limited to: an officer's own, whatever they asked."""
    access = require_raw_points(principal, politikreds, action=action)
    return access.raw_politikreds or politikreds


async def incidents(db: Database, principal: Principal, pq: PointQuery) -> bytes:
    pq.politikreds = _scoped(principal, pq.politikreds, "Listing incidents")
    async with db.connection() as conn:
        row = await store.incident_features(conn, pq)
    return _collection(row, {"restricted_to_politikreds": overlay_access(principal).raw_politikreds})


async def reports(db: Database, principal: Principal, pq: PointQuery) -> bytes:
    for code in pq.categories or []:
        _check_category(code)  # a misspelt category is an error, not an empty list
    pq.politikreds = _scoped(principal, pq.politikreds, "Listing insecurity reports")
    async with db.connection() as conn:
        row = await store.report_features(conn, pq)
    return _collection(row, {"restricted_to_politikreds": overlay_access(principal).raw_politikreds})


async def report(db: Database, principal: Principal, report_id: int) -> bytes:
    kreds = _scoped(principal, None, "Reading an insecurity report")
    async with db.connection() as conn:
        row = await store.report_features(conn, PointQuery(politikreds=kreds, limit=1), report_id)
    features = orjson.loads(row["features"])
    if not features:
        raise NotFound(_not_visible(report_id))
    return orjson.dumps(features[0])


def _not_visible(report_id: int) -> str:
    """The same answer for a report that does not exist and one the caller may not see."""
    return f"no insecurity report {report_id} that this role may see"


def _report_date(value: str | None) -> dt.date:
    if value is None:
        return timeutil.to_local(timeutil.now()).date()
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput("reported_on must be a date", errors=[FieldError("reported_on", "expected YYYY-MM-DD")]
                           ) from None
    if day > timeutil.to_local(timeutil.now()).date():
        raise InvalidInput("reported_on is in the future", errors=[FieldError("reported_on", "in the future")])
    return day


def _check_category(code: str) -> None:
    rules = get_overlay_rules()
    if code not in rules.report_categories:
        raise InvalidInput(f"category: unknown report category {code!r}",
                           errors=[FieldError("category", "expected one of " + ", ".join(rules.report_categories))])


def _may_write(principal: Principal, politikreds: str | None, action: str) -> None:
    access = overlay_access(principal)
    if not access.write_reports:
        require_raw_points(principal, action=action)  # the public gets 401 here
        raise Forbidden(f"{action} needs the officer, analyst or admin role", extra={"role": principal.role.value})
    if access.raw_politikreds is not None and politikreds != access.raw_politikreds:
        raise Forbidden(f"{action}: an officer handles reports in their own politikreds ({access.raw_politikreds}) "
                        f"only; this one is in {politikreds}", extra={"role": principal.role.value})


async def create_report(db: Database, principal: Principal, body: ReportIn, external_key: str | None = None) -> int:
    _check_category(body.category)
    check_point_in_denmark(body.lon, body.lat)
    day = _report_date(body.reported_on)
    async with db.transaction(principal.actor, "insecurity_report.create") as conn:
        place = await store.place_point(conn, body.lon, body.lat)
        if place is None or place["distance_m"] > MAX_DISTANCE_FROM_DENMARK_M:
            reason = f"lon {body.lon}, lat {body.lat} is not in Denmark"
            raise OutsideDenmark(reason, errors=[FieldError("lat,lon", reason)])
        _may_write(principal, place["politikreds_code"], "Adding an insecurity report")
        return await store.insert_report(conn, {
            "category": body.category, "text": body.text.strip(), "reported_on": day, "lon": body.lon,
            "lat": body.lat, "status": body.status, "walk": body.walk, "kommune_code": place["kommune_code"],
            "politikreds_code": place["politikreds_code"], "created_by": principal.actor.name,
            "external_key": external_key,
        })


async def patch_report(db: Database, principal: Principal, report_id: int, body: ReportPatch) -> None:
    fields = body.model_dump(exclude_unset=True)
    if not fields:
        raise InvalidInput("nothing to change", errors=[FieldError("body", "give status, status_note, category or "
                                                                           "text")])
    if "category" in fields:
        _check_category(fields["category"])
    for name in ("status", "category", "text"):
        if name in fields and fields[name] is None:
            raise InvalidInput(f"{name} cannot be null", errors=[FieldError(name, "cannot be null")])
    async with db.transaction(principal.actor, "insecurity_report.update", fields.get("status_note")) as conn:
        row = await store.report_row(conn, report_id, for_update=True)
        own = overlay_access(principal).raw_politikreds
        if row is None or (own is not None and row["politikreds_code"] != own):
            # A report an officer may not read is answered as GET answers it: 404, saying neither that it
            # exists nor where (a 403 naming its politikreds would). Roles that may not write still get 401/403.
            _may_write(principal, own, "Changing an insecurity report")
            raise NotFound(_not_visible(report_id))
        _may_write(principal, row["politikreds_code"], "Changing an insecurity report")
        await store.update_report(conn, report_id, fields, principal.actor.name)


SECTOR_LISTING_LIMIT = 5000


async def sector_recent(db: Database, principal: Principal, code: str, *, days: int, until: dt.datetime | None,
                        limit: int = SECTOR_LISTING_LIMIT) -> bytes:
    """The officer's sector: incidents of the last `days` days and the open insecurity reports, as GeoJSON. At
    most `limit` incidents are listed; their count and counts per group are of all of them."""
    async with db.connection() as conn:
        sector = await store.sector_info(conn, code)
        if sector is None:
            require_raw_points(principal, action="The sector overview")
            raise NotFound(f"no patrol sector {code!r}")
        access = require_raw_points(principal, sector["politikreds_code"], action="The sector overview")
        # Defence in depth: an officer's rows come from their own politikreds only, whatever the sector's
        # boundary holds (a sector redrawn across a border, a point placed in the neighbouring kreds).
        kreds = access.raw_politikreds
        end = until or timeutil.now()
        start = end - dt.timedelta(days=days)
        recent = PointQuery(t0=start, t1=end, sector=code, politikreds=kreds, limit=limit)
        inc = await store.incident_features(conn, recent)
        per_category = await store.incident_category_counts(conn, recent)
        rep = await store.report_features(conn, PointQuery(sector=code, statuses=["open"], politikreds=kreds,
                                                           limit=1000))
    rules = get_overlay_rules()
    incidents_list = orjson.loads(inc["features"])
    reports_list = orjson.loads(rep["features"])
    by_group: dict[str, int] = {g: 0 for g in rules.groups}
    for category, n in per_category.items():
        by_group[rules.group_of(category)] += n
    body = {
        "type": "FeatureCollection",
        "sector": {k: v for k, v in sector.items() if k != "geometry"} | {"geometry": orjson.loads(sector["geometry"])},
        "from": timeutil.isoformat_local(start), "to": timeutil.isoformat_local(end), "days": days,
        "restricted_to_politikreds": kreds,
        "incidents": {"count": int(inc["total"]), "listed": int(inc["returned"]), "by_group": by_group},
        "open_reports": {"count": int(rep["total"]), "listed": int(rep["returned"])},
        "features": incidents_list + reports_list,
    }
    return orjson.dumps(body)
