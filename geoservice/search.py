"""Place search: zones, sectors, stations, reference areas, OpenStreetMap places and typed coordinates from the
offline index, and streets and addresses from the configured geocoder (asked by this service, never by the
browser; see geoservice/geocoder.py). With no geocoder, or when it fails, the offline index answers alone."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from typing import Any

from geoservice import timeutil
from geoservice.access import Principal, zone_filter
from geoservice.db import Database
from geoservice.geocoder import Geocoder
from geoservice.geometry import in_denmark_bbox
from geoservice.store import reference as store

_NUMBER = r"[-+]?\d{1,3}(?:[.,]\d+)?"
_DECIMAL_PAIR = re.compile(rf"^\s*({_NUMBER})\s*[,; ]\s*({_NUMBER})\s*$")
_DMS = re.compile(
    r"(\d{1,3})\s*[°º]\s*(?:(\d{1,2}(?:[.,]\d+)?)\s*['′]\s*)?(?:(\d{1,2}(?:[.,]\d+)?)\s*[\"″]\s*)?([NSEWØV])",
    re.IGNORECASE,
)


def parse_coordinates(text: str) -> tuple[float, float] | None:
    """(lon, lat) from '55.6815, 12.5795', '12.5795 55.6815' or 55°40′53″N 12°34′46″E, when it lies in Denmark.
    The order is decided by Denmark's extent: latitudes 54–58 and longitudes 8–15 never overlap."""
    match = _DECIMAL_PAIR.match(text)
    if match:
        a, b = (float(g.replace(",", ".")) for g in match.groups())
        if in_denmark_bbox(b, a):
            return b, a
        if in_denmark_bbox(a, b):
            return a, b
        return None
    parts = _DMS.findall(text)
    if len(parts) == 2:
        values: dict[str, float] = {}
        for deg, minutes, seconds, hemi in parts:
            value = float(deg) + float((minutes or "0").replace(",", ".")) / 60 + \
                float((seconds or "0").replace(",", ".")) / 3600
            axis = "lat" if hemi.upper() in "NS" else "lon"
            values[axis] = -value if hemi.upper() in "SWV" else value
        if set(values) == {"lat", "lon"} and in_denmark_bbox(values["lon"], values["lat"]):
            return values["lon"], values["lat"]
    return None


# OpenStreetMap tags of the places as a citizen reads them (Danish, English); unknown tags fall back per key.
_PLACE_LABELS: dict[str, tuple[str, str]] = {
    "place=city": ("By", "City"), "place=town": ("By", "Town"), "place=village": ("Landsby", "Village"),
    "place=hamlet": ("Mindre bebyggelse", "Hamlet"), "place=suburb": ("Bydel", "Suburb"),
    "place=neighbourhood": ("Kvarter", "Neighbourhood"), "place=quarter": ("Kvarter", "Quarter"),
    "place=locality": ("Lokalitet", "Locality"), "place=isolated_dwelling": ("Enkeltliggende bolig", "Dwelling"),
    "place=farm": ("Gård", "Farm"), "place=square": ("Plads", "Square"), "place=island": ("Ø", "Island"),
    "place=islet": ("Holm", "Islet"),
    "amenity=fast_food": ("Fastfood", "Fast food"), "amenity=cafe": ("Café", "Café"),
    "amenity=restaurant": ("Restaurant", "Restaurant"), "amenity=pub": ("Værtshus", "Pub"),
    "amenity=bar": ("Bar", "Bar"), "amenity=nightclub": ("Natklub", "Nightclub"), "amenity=club": ("Klub", "Club"),
    "amenity=social_facility": ("Socialt tilbud", "Social facility"), "amenity=school": ("Skole", "School"),
    "amenity=kindergarten": ("Børnehave", "Kindergarten"), "amenity=college": ("Uddannelsessted", "College"),
    "amenity=university": ("Universitet", "University"), "amenity=bank": ("Bank", "Bank"),
    "amenity=fuel": ("Tankstation", "Fuel station"), "amenity=parking": ("Parkering", "Parking"),
    "amenity=parking_entrance": ("Indkørsel til parkering", "Parking entrance"),
    "amenity=bicycle_parking": ("Cykelparkering", "Bicycle parking"), "amenity=pharmacy": ("Apotek", "Pharmacy"),
    "amenity=ice_cream": ("Is", "Ice cream"), "amenity=events_venue": ("Festlokale", "Events venue"),
    "amenity=shelter": ("Shelter", "Shelter"), "amenity=library": ("Bibliotek", "Library"),
    "amenity=community_centre": ("Medborgerhus", "Community centre"), "amenity=cinema": ("Biograf", "Cinema"),
    "amenity=theatre": ("Teater", "Theatre"), "amenity=hospital": ("Hospital", "Hospital"),
    "amenity=clinic": ("Klinik", "Clinic"), "amenity=doctors": ("Læge", "Doctor"),
    "amenity=dentist": ("Tandlæge", "Dentist"), "amenity=veterinary": ("Dyrlæge", "Vet"),
    "amenity=post_office": ("Posthus", "Post office"), "amenity=bus_station": ("Busstation", "Bus station"),
    "amenity=ferry_terminal": ("Færgeterminal", "Ferry terminal"),
    "amenity=bicycle_rental": ("Cykeludlejning", "Bicycle rental"),
    "amenity=car_rental": ("Biludlejning", "Car rental"),
    "amenity=car_wash": ("Bilvask", "Car wash"), "amenity=fire_station": ("Brandstation", "Fire station"),
    "amenity=police": ("Politi", "Police"), "amenity=toilets": ("Toilet", "Toilets"),
    "amenity=embassy": ("Ambassade", "Embassy"), "amenity=prison": ("Fængsel", "Prison"),
    "amenity=nursing_home": ("Plejehjem", "Nursing home"), "amenity=place_of_worship": ("Kirke", "Place of worship"),
    "amenity=townhall": ("Rådhus", "Town hall"), "amenity=marketplace": ("Torv", "Marketplace"),
    "amenity=fountain": ("Springvand", "Fountain"), "amenity=recycling": ("Genbrugsstation", "Recycling"),
    "shop=supermarket": ("Supermarked", "Supermarket"), "shop=convenience": ("Nærbutik", "Convenience store"),
    "shop=kiosk": ("Kiosk", "Kiosk"), "shop=bakery": ("Bager", "Bakery"), "shop=butcher": ("Slagter", "Butcher"),
    "shop=clothes": ("Tøjbutik", "Clothes shop"), "shop=shoes": ("Skobutik", "Shoe shop"),
    "shop=hairdresser": ("Frisør", "Hairdresser"), "shop=beauty": ("Skønhedssalon", "Beauty salon"),
    "shop=bicycle": ("Cykelhandler", "Bicycle shop"), "shop=jewelry": ("Guldsmed", "Jeweller"),
    "shop=florist": ("Blomsterhandler", "Florist"), "shop=charity": ("Genbrugsbutik", "Charity shop"),
    "shop=second_hand": ("Genbrugsbutik", "Second-hand shop"), "shop=car_repair": ("Autoværksted", "Car repair"),
    "shop=car": ("Bilforhandler", "Car dealer"), "shop=optician": ("Optiker", "Optician"),
    "shop=doityourself": ("Byggemarked", "DIY store"), "shop=hardware": ("Isenkræmmer", "Hardware store"),
    "shop=sports": ("Sportsbutik", "Sports shop"), "shop=books": ("Boghandel", "Bookshop"),
    "shop=alcohol": ("Vinhandel", "Off-licence"), "shop=wine": ("Vinhandel", "Wine shop"),
    "shop=furniture": ("Møbelbutik", "Furniture shop"), "shop=gift": ("Gavebutik", "Gift shop"),
    "shop=chemist": ("Materialist", "Chemist"), "shop=houseware": ("Boligtilbehør", "Houseware"),
    "shop=confectionery": ("Slikbutik", "Sweet shop"), "shop=chocolate": ("Chokoladebutik", "Chocolate shop"),
    "shop=electronics": ("Elektronik", "Electronics"), "shop=deli": ("Delikatesse", "Deli"),
    "shop=seafood": ("Fiskehandler", "Fishmonger"), "shop=greengrocer": ("Grønthandler", "Greengrocer"),
    "shop=ice_cream": ("Is", "Ice cream"), "shop=mobile_phone": ("Mobiltelefoner", "Mobile phones"),
    "shop=toys": ("Legetøj", "Toy shop"), "shop=pet": ("Dyrehandel", "Pet shop"),
    "shop=outdoor": ("Friluftsbutik", "Outdoor shop"), "shop=antiques": ("Antikvitetshandel", "Antiques"),
    "shop=art": ("Kunsthandel", "Art shop"), "shop=photo": ("Fotohandler", "Photo shop"),
    "shop=computer": ("Computerbutik", "Computer shop"), "shop=laundry": ("Vaskeri", "Laundry"),
    "shop=dry_cleaning": ("Renseri", "Dry cleaner"), "shop=tattoo": ("Tatovør", "Tattoo studio"),
    "shop=travel_agency": ("Rejsebureau", "Travel agency"), "shop=massage": ("Massage", "Massage"),
    "shop=funeral_directors": ("Bedemand", "Funeral director"), "shop=garden_centre": ("Planteskole", "Garden centre"),
    "shop=farm": ("Gårdbutik", "Farm shop"), "shop=craft": ("Håndværk", "Craft"),
    "shop=paint": ("Farvehandel", "Paint"),
    "shop=interior_decoration": ("Boligindretning", "Interior decoration"), "shop=car_parts": ("Autodele", "Car parts"),
    "leisure=marina": ("Lystbådehavn", "Marina"), "leisure=sports_centre": ("Idrætsanlæg", "Sports centre"),
    "leisure=playground": ("Legeplads", "Playground"), "leisure=fitness_centre": ("Fitnesscenter", "Gym"),
    "leisure=park": ("Park", "Park"), "leisure=bowling_alley": ("Bowlinghal", "Bowling alley"),
    "leisure=slipway": ("Bådrampe", "Slipway"), "leisure=fishing": ("Fiskested", "Fishing spot"),
    "leisure=horse_riding": ("Rideskole", "Riding school"), "leisure=summer_camp": ("Lejrplads", "Camp"),
}
_KEY_LABELS = {"shop": ("Butik", "Shop"), "place": ("Sted", "Place")}
_GENERIC = ("Sted", "Place")


def place_label(category: str | None) -> tuple[str, str]:
    """A person's words for an OpenStreetMap tag such as 'shop=ice_cream': ('Is', 'Ice cream')."""
    if not category:
        return _GENERIC
    return _PLACE_LABELS.get(category) or _KEY_LABELS.get(category.split("=", 1)[0], _GENERIC)


async def search(db: Database, principal: Principal, q: str, at: dt.datetime | None, limit: int,
                 near: tuple[float, float] | None = None, geocoder: Geocoder | None = None) -> dict[str, Any]:
    """Results best first, and where streets and addresses came from: `geocoder` is "ok", "unavailable" (the
    configured upstream failed; the offline index answered alone) or "off" (none configured)."""
    results: list[dict[str, Any]] = []
    coordinates = parse_coordinates(q)
    if coordinates:
        lon, lat = coordinates
        results.append({"type": "coordinates", "ref": f"{lat:.6f},{lon:.6f}", "name": f"{lat:.5f}, {lon:.5f}",
                        "detail": "Koordinater", "detail_en": "Coordinates", "lon": lon, "lat": lat, "bbox": None})
    text = q.strip().lower()
    if len(text) < 2 or coordinates:
        return {"results": results, "geocoder": "off" if geocoder is None else "ok"}
    access = zone_filter(principal)
    params = {
        "q": text.replace("\\", "").replace("%", "").replace("_", ""),
        "t": at or timeutil.now(),
        "visibilities": list(access.visibilities),
        "restricted_kreds": access.restricted_politikreds,
        "in_force_only": access.only_in_force,
        "drafts": access.drafts,
        "limit": limit,
        "near_lon": near[0] if near else None,
        "near_lat": near[1] if near else None,
    }
    upstream = asyncio.create_task(geocoder.search(q, limit)) if geocoder else None
    async with db.connection() as conn:
        rows = await store.search(conn, params)
    offline = []
    for row in rows:
        if row["type"] == "place":  # the raw tag stays out of sight: citizens get words, and where it is
            row["detail"], row["detail_en"] = place_label(row["detail"])
            if row.get("town"):
                row["detail"] = f"{row['detail']}, {row['town']}"
                row["detail_en"] = f"{row['detail_en']}, {row['town']}"
        row.pop("town", None)
        offline.append({**row, "bbox": list(row["bbox"]) if row["bbox"] else None})
    if upstream is None:
        return {"results": offline, "geocoder": "off"}
    answer = await upstream
    # A zone, sector or area named exactly what was typed comes first; then the streets and addresses of the
    # register; then the rest of the offline index (a shop that merely has the street in its name comes last).
    exact = [r for r in offline if r["name"].lower() == text and r["type"] != "place"]
    rest = [r for r in offline if r not in exact]
    return {"results": (exact + answer.results + rest)[:limit], "geocoder": answer.status}
