"""The public Atom feed: parsed by a real feed parser (feedparser) and an XML parser; every entry type, only
published public zones, paging, ETag / Last-Modified, escaping of text from the data."""

from __future__ import annotations

import datetime as dt
import email.utils
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import feedparser
import pytest
from fastapi.testclient import TestClient

from geoservice import timeutil
from tests.conftest import bearer
from tests.helpers import AMAGER_FAELLED, GOTHERSGADE, offset, square, zone_feature

FEED = "/api/v1/feeds/zones.atom"
ATOM = "{http://www.w3.org/2005/Atom}"
TAG = "tag:geoservice.local,2025:"


def local(moment: dt.datetime) -> str:
    return timeutil.isoformat_local(moment) or ""


@pytest.fixture(scope="module")
def made(own_client: TestClient, tokens: dict[str, str]) -> dict[str, int]:
    """Zones through the API, one per kind of entry, plus some the public must never see."""
    admin, legal = bearer(tokens["admin"]), bearer(tokens["legal"])
    soon = timeutil.now() + dt.timedelta(days=1)

    def create(name: str, place: tuple[float, float], **props) -> int:
        response = own_client.post("/api/v1/zones", headers=admin,
                                   json=zone_feature(square(*place, 150), name=name, **props))
        assert response.status_code == 201, response.text
        return response.json()["id"]

    ids = {}
    ids["extended"] = create('Feedzone <Nørrebro> & "Co"', offset(*AMAGER_FAELLED, 400, 0),
                             reason="Uro i nattelivet; vold < 5 gange", decision_ref="FEED-1 & 2")
    extension = own_client.post(f"/api/v1/zones/{ids['extended']}/extend", headers=legal,
                                json={"valid_to": "2027-06-30", "decision_ref": "FEED-1-F1"})
    assert extension.status_code == 201, extension.text
    ids["amended"] = create("Feedzone Amager", offset(*AMAGER_FAELLED, -400, 0), decision_ref="FEED-2")
    amendment = own_client.post(f"/api/v1/zones/{ids['amended']}/amend", headers=legal, json={
        "effective_from": local(soon), "geometry": square(*offset(*AMAGER_FAELLED, -400, 0), 100),
        "decision_ref": "FEED-2-A"})
    assert amendment.status_code == 201, amendment.text
    ids["revoked"] = create("Feedzone Islands Brygge", offset(*AMAGER_FAELLED, 0, 400), decision_ref="FEED-3")
    revocation = own_client.post(f"/api/v1/zones/{ids['revoked']}/revoke", headers=legal,
                                 json={"reason": "Ro i området", "decision_ref": "FEED-3-OPH"})
    assert revocation.status_code == 200, revocation.text
    ids["internal"] = create("Feedzone intern", offset(*AMAGER_FAELLED, 0, -400), visibility="internal")
    ids["draft"] = create("Feedzone kladde", offset(*AMAGER_FAELLED, 800, 0), publish=False)
    ids["restricted"] = create("Feedzone § 6 g", offset(*AMAGER_FAELLED, -800, 0), kind="opholdsforbud",
                               visibility="restricted", valid_to=local(timeutil.now() + dt.timedelta(days=20)),
                               valid_from=local(timeutil.now()))
    # a historical record: recorded after its period ended, so not news
    ids["history"] = create("Feedzone 2024", offset(*GOTHERSGADE, 0, -600), kind="visitationszone",
                            valid_from="2024-03-01T12:00", valid_to="2024-03-08T12:00")
    return ids


def parse(body: bytes) -> feedparser.FeedParserDict:
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    return parsed


def whole_feed(client: TestClient) -> feedparser.FeedParserDict:
    response = client.get(FEED, params={"limit": 200})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/atom+xml"
    return parse(response.content)


def entries_of(feed: feedparser.FeedParserDict, zone_id: int) -> list[feedparser.FeedParserDict]:
    return [e for e in feed.entries if e.id.startswith(f"{TAG}zone/{zone_id}/")]


def event_of(entry: feedparser.FeedParserDict) -> str:
    return next(t.term for t in entry.tags if t.scheme == f"{TAG}feed-event")


def test_the_feed_is_well_formed_atom_with_every_entry_type(own_client: TestClient, made: dict[str, int]) -> None:
    response = own_client.get(FEED, params={"limit": 200})
    root = ET.fromstring(response.content)  # well-formed XML, Atom namespace, Danish
    assert root.tag == f"{ATOM}feed" and root.get("{http://www.w3.org/XML/1998/namespace}lang") == "da"
    feed = parse(response.content)
    assert feed.feed.id == f"{TAG}feeds/zones" and feed.feed.updated_parsed is not None

    extended = entries_of(feed, made["extended"])
    assert sorted(event_of(e) for e in extended) == ["designation", "extension"]
    designation = next(e for e in extended if event_of(e) == "designation")
    # text from the data is text: the parser gives back exactly what was stored, markup characters included
    assert designation.title == 'Ny zone: Feedzone <Nørrebro> & "Co" (Nattelivszone)'
    assert "Udpeget for perioden 1. januar 2026 kl. 00.00 – 1. januar 2027 kl. 00.00." in designation.summary
    assert "Hjemmel: Politiloven § 6 b" in designation.summary
    assert "Afgørelse: FEED-1 & 2 (Testpolitiet)." in designation.summary
    assert "Begrundelse: Uro i nattelivet; vold < 5 gange." in designation.summary
    assert "Forbuddet gælder dagligt kl. 00.00–05.00." in designation.summary
    assert b"&lt;N\xc3\xb8rrebro&gt; &amp; " in response.content  # escaped on the wire
    extension = next(e for e in extended if event_of(e) == "extension")
    assert extension.title.startswith("Forlænget: ")
    assert "1. januar 2027 kl. 00.00 – 1. juli 2027 kl. 00.00" in extension.summary

    amendment = next(e for e in entries_of(feed, made["amended"]) if event_of(e) == "amendment")
    assert amendment.title == "Ny afgrænsning: Feedzone Amager (Nattelivszone)"
    assert "Ny afgrænsning fra " in amendment.summary and "gælder til 1. januar 2027 kl. 00.00" in amendment.summary

    revoked = entries_of(feed, made["revoked"])
    assert sorted(event_of(e) for e in revoked) == ["designation", "revocation"]
    revocation = next(e for e in revoked if event_of(e) == "revocation")
    assert revocation.id == f"{TAG}zone/{made['revoked']}/revocation"
    assert revocation.title == "Ophævet: Feedzone Islands Brygge (Nattelivszone)"
    assert "Begrundelse for ophævelsen: Ro i området." in revocation.summary
    assert "Afgørelse om ophævelse: FEED-3-OPH." in revocation.summary

    for entry in [*extended, amendment, *revoked]:
        assert entry.updated_parsed and entry.published_parsed and entry.author
        kinds = [t for t in entry.tags if t.term == "nattelivszone"]
        assert kinds and kinds[0].label == "Nattelivszone"


def test_entries_link_to_the_public_map_and_the_geojson(own_client: TestClient, made: dict[str, int]) -> None:
    feed = whole_feed(own_client)
    for entry in entries_of(feed, made["extended"]) + entries_of(feed, made["amended"]):
        links = {link.type: link.href for link in entry.links}
        page = urlsplit(links["text/html"])
        assert page.path == "/" and page.fragment
        view = parse_qs(page.fragment)  # the fragment public-map.js reads: z, c=lat,lon, t=wall time+offset
        lat, lon = (float(v) for v in view["c"][0].split(","))
        assert 55.6 < lat < 55.7 and 12.5 < lon < 12.7 and 8 <= int(view["z"][0]) <= 17
        assert len(view["t"][0]) == len("2026-01-01T00:00+01:00")
        geojson = urlsplit(links["application/geo+json"])
        answer = own_client.get(geojson.path + "?" + geojson.query)  # as the public
        assert answer.status_code == 200 and answer.json()["id"] in (made["extended"], made["amended"])
    # the amendment's link asks for the moment it takes effect, so the new boundary is the one answered
    amendment = next(e for e in entries_of(feed, made["amended"]) if event_of(e) == "amendment")
    link = next(link.href for link in amendment.links if link.type == "application/geo+json")
    answered = own_client.get(urlsplit(link).path + "?" + urlsplit(link).query).json()
    assert answered["properties"]["change"] == "amendment"


def test_only_published_public_zones_and_no_history_records(own_client: TestClient, made: dict[str, int],
                                                            tokens: dict[str, str]) -> None:
    for headers in ({}, bearer(tokens["admin"])):  # a token changes nothing: the feed is the public's
        body = own_client.get(FEED, params={"limit": 200}, headers=headers).content
        feed = parse(body)
        for hidden in ("internal", "draft", "restricted", "history"):
            assert entries_of(feed, made[hidden]) == [], hidden
        for name in (b"Feedzone intern", b"Feedzone kladde", "Feedzone § 6 g".encode(), b"Feedzone 2024"):
            assert name not in body
    # a zone made internal leaves the feed with all its entries
    admin = bearer(tokens["admin"])
    assert own_client.patch(f"/api/v1/zones/{made['amended']}", headers=admin,
                            json={"visibility": "internal"}).status_code == 200
    try:
        assert entries_of(whole_feed(own_client), made["amended"]) == []
    finally:
        own_client.patch(f"/api/v1/zones/{made['amended']}", headers=admin, json={"visibility": "public"})
    assert entries_of(whole_feed(own_client), made["amended"])


def pages(client: TestClient, params: dict) -> Iterator[feedparser.FeedParserDict]:
    url: str | None = FEED
    while url:
        response = client.get(url, params=params if url == FEED else None)
        assert response.status_code == 200
        page = parse(response.content)
        yield page
        nxt = [link.href for link in page.feed.links if link.rel == "next"]
        url = urlsplit(nxt[0]).path + "?" + urlsplit(nxt[0]).query if nxt else None


def test_paging_walks_every_entry_once_newest_first(own_client: TestClient, made: dict[str, int]) -> None:
    everything = [e.id for e in whole_feed(own_client).entries]
    walked = [e for page in pages(own_client, {"limit": 3}) for e in page.entries]
    assert [e.id for e in walked] == everything and len(set(everything)) == len(everything) > 6
    times = [e.updated_parsed for e in walked]
    assert times == sorted(times, reverse=True)
    first = parse(own_client.get(FEED, params={"limit": 3}).content)
    assert {link.rel for link in first.feed.links} >= {"self", "first", "next", "alternate"}
    # a filtered feed pages within its kind and says so in its links
    kinds = {t.term for page in pages(own_client, {"kind": "visitationszone", "limit": 2}) for e in page.entries
             for t in e.tags if t.scheme.endswith("/api/v1/kinds")}
    assert kinds == {"visitationszone"}


def test_bad_paging_and_kind_are_named(own_client: TestClient) -> None:
    bad = own_client.get(FEED, params={"before": "not-a-cursor"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "before"
    unknown = own_client.get(FEED, params={"kind": "nattelivszone,drone"})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "kind"
    too_many = own_client.get(FEED, params={"limit": 1000})
    assert too_many.status_code == 422


def test_etag_and_last_modified_are_honoured(own_client: TestClient, made: dict[str, int],
                                              tokens: dict[str, str]) -> None:
    first = own_client.get(FEED)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert own_client.get(FEED).content == first.content  # the same data, the same bytes
    assert own_client.get(FEED, headers={"If-None-Match": etag}).status_code == 304
    assert own_client.get(FEED, headers={"If-Modified-Since": modified}).status_code == 304
    older = email.utils.format_datetime(email.utils.parsedate_to_datetime(modified) - dt.timedelta(seconds=1),
                                        usegmt=True)
    assert own_client.get(FEED, headers={"If-Modified-Since": older}).status_code == 200
    # If-None-Match decides when both are sent (RFC 9110)
    assert own_client.get(FEED, headers={"If-None-Match": '"other"', "If-Modified-Since": modified}
                          ).status_code == 200
    # a new publication changes the feed, its validator and its time
    created = own_client.post("/api/v1/zones", headers=bearer(tokens["admin"]), json=zone_feature(
        square(*offset(*AMAGER_FAELLED, 1200, 0), 120), name="Feedzone ny"))
    assert created.status_code == 201
    after = own_client.get(FEED, headers={"If-None-Match": etag})
    assert after.status_code == 200 and after.headers["etag"] != etag
    assert email.utils.parsedate_to_datetime(after.headers["last-modified"]) >= email.utils.parsedate_to_datetime(
        modified)
    assert parse(after.content).entries[0].title == "Ny zone: Feedzone ny (Nattelivszone)"
