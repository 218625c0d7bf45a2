"""Din Betjent sectors and the point lookup: what applies where, for the caller's role."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson

from geoservice import timeutil
from geoservice.access import Principal, zone_filter
from geoservice.db import Database
from geoservice.errors import NotFound
from geoservice.geometry import check_point_distance, check_point_in_denmark
from geoservice.public_lookup import PublicLookup
from geoservice.store import reference
from geoservice.store.zones import ZoneQuery, select_features


async def lookup(db: Database, principal: Principal, lon: float, lat: float, at: dt.datetime | None,
                 public: PublicLookup | None = None) -> str | bytes:
    """Zones in force at a point at a moment (as the role may see them), its sector, politikreds and kommune;
    the JSON document is built by the database, or for the public at the current moment taken from `public`
    (geoservice/public_lookup.py: the same document from the same SQL, once per version of the data)."""
    check_point_in_denmark(lon, lat)
    if public is not None and at is None and principal.is_public:
        body = await public.answer(lon, lat)
        if body is not None:
            return body
    access = zone_filter(principal)
    async with db.connection() as conn:
        body, outside_m = await reference.lookup(conn, {
            "lon": lon, "lat": lat, "t": at or timeutil.now(),
            "visibilities": list(access.visibilities), "restricted_kreds": access.restricted_politikreds,
        })
    # Inside Denmark's rough box but not in any politikreds (Malmö, Flensburg, open sea): the same rule as
    # for zone boundaries; coastal water and harbours within the margin still answer.
    check_point_distance(lon, lat, outside_m)
    return body


async def sector_detail(db: Database, principal: Principal, code: str, at: dt.datetime | None, days: int,
                        simplify_m: float) -> dict[str, Any]:
    """A sector's boundary, station, officers, neighbours, the zones in force in it and those starting or ending
    within `days`."""
    t = at or timeutil.now()
    access = zone_filter(principal)
    async with db.connection() as conn:
        body = await reference.sector_detail(conn, {
            "code": code, "t": t, "days": days, "visibilities": list(access.visibilities),
            "restricted_kreds": access.restricted_politikreds, "in_force_only": access.only_in_force})
        if body is None:
            raise NotFound(f"no Din Betjent sector {code!r} at {timeutil.isoformat_local(t)}")
        zones, _, _ = await select_features(conn, ZoneQuery(t=t, access=access, in_force_only=True, sector=code,
                                                            simplify_m=simplify_m, limit=1000))
    result = orjson.loads(body)
    result["at"] = timeutil.isoformat_local(t)
    result["days"] = days
    result["zones_in_force"] = {"type": "FeatureCollection", "features": orjson.loads(zones)}
    return result
