"""The legal rules of each kind, table-driven: period ceilings, 29 February, DST, 'til og med', required ends
and decisions. Every refusal names the rule it applies."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from geoservice.layers import load_layers
from geoservice.rules import check_period, parse_period
from geoservice.settings import REPO_ROOT
from tests.conftest import bearer
from tests.helpers import GOTHERSGADE, offset, square, zone_feature

_spot = iter(range(1, 10_000))


def place() -> dict:
    """A fresh square on Amager Fælled-ish ground south of the city, away from demo zones."""
    n = next(_spot)
    return square(*offset(*GOTHERSGADE, -9000 + 350 * (n % 40), -7000 - 350 * (n // 40)), 120)


def create(client: TestClient, tokens: dict, **props) -> tuple[int, dict]:
    response = client.post("/api/v1/zones", json=zone_feature(place(), **props), headers=bearer(tokens["admin"]))
    return response.status_code, response.json()


@pytest.mark.parametrize(
    ("kind", "valid_from", "valid_to", "accepted", "rule"),
    [
        # nightlife zones: at most two calendar years per designation
        ("nattelivszone", "2026-01-01T00:00", "2028-01-01T00:00", True, None),
        ("nattelivszone", "2026-01-01T00:00", "2028-01-01T00:01", False, "max_period"),
        ("nattelivszone", "2026-01-01T00:00", "2027-12-31", True, None),          # til og med 31 Dec 2027
        ("nattelivszone", "2026-01-01T00:00", "2028-01-01", False, "max_period"),  # til og med 1 Jan 2028
        # 29 February rolls to 1 March
        ("nattelivszone", "2024-02-29T00:00", "2026-03-01T00:00", True, None),
        ("nattelivszone", "2024-02-29T00:00", "2026-03-01T00:01", False, "max_period"),
        # the ceiling is in local wall-clock time, whatever DST does in between (summer start, winter end)
        ("nattelivszone", "2025-03-29T12:00", "2027-03-29T12:00", True, None),
        ("nattelivszone", "2025-10-25T12:00", "2027-10-25T12:00", True, None),
        ("nattelivszone", "2025-10-25T12:00", "2027-10-25T12:00:01", False, "max_period"),
        ("midlertidig_nattelivszone", "2026-06-01T00:00", None, False, "end_required"),
        # § 6 g: 30 days, across the October DST change (30 days and 1 hour of real time)
        ("opholdsforbud", "2025-10-10T12:00", "2025-11-09T12:00", True, None),
        ("opholdsforbud", "2025-10-10T12:00", "2025-11-09T12:01", False, "max_period"),
        # visitation zones: no ceiling, but an end and a decision are required
        ("visitationszone", "2026-09-01T16:00", "2026-12-24T16:00", True, None),
        ("visitationszone", "2026-09-01T16:00", None, False, "end_required"),
        # SUB areas: no period rule at all
        ("sub_omraade", "2026-01-01T00:00", None, True, None),
    ],
)
def test_period_rules_over_the_api(client: TestClient, tokens: dict, kind: str, valid_from: str,
                                   valid_to: str | None, accepted: bool, rule: str | None) -> None:
    visibility = "restricted" if kind == "opholdsforbud" else None
    # as drafts: the period rules apply to every version (a publication adds no_retroactive_effect, tested apart)
    status, body = create(client, tokens, kind=kind, valid_from=valid_from, valid_to=valid_to, visibility=visibility,
                          publish=False)
    if accepted:
        assert status == 201, body
    else:
        assert status == 422, body
        assert body["type"] == "urn:geoservice:problem:rule-violation"
        assert [r["rule"] for r in body["rules"]] == [rule]
        assert f"{kind}: {rule}" in body["detail"]  # the rule is quoted with its name in layers/kinds.yaml


def test_dst_does_not_shift_stored_periods(client: TestClient, tokens: dict) -> None:
    status, body = create(client, tokens, kind="visitationszone", valid_from="2025-03-29T16:00",
                          valid_to="2025-04-05T16:00")
    assert status == 201
    assert body["properties"]["valid_from"] == "2025-03-29T16:00:00+01:00"
    assert body["properties"]["valid_to"] == "2025-04-05T16:00:00+02:00"
    status, body = create(client, tokens, kind="visitationszone", valid_from="2025-10-25T16:00",
                          valid_to="2025-10-27")
    assert body["properties"]["valid_to"] == "2025-10-28T00:00:00+01:00"  # til og med 27 October


def test_decision_required_to_publish(client: TestClient, tokens: dict) -> None:
    status, body = create(client, tokens, kind="visitationszone", decision_ref=None, valid_from="2026-09-01T16:00",
                          valid_to="2026-09-15T16:00", override_reason=None)
    assert status == 422 and body["rules"][0]["rule"] == "decision_required"
    draft_status, _ = create(client, tokens, kind="visitationszone", decision_ref=None, publish=False,
                             valid_from="2026-09-01T16:00", valid_to="2026-09-15T16:00")
    assert draft_status == 201  # a draft may wait for its decision


def test_admin_override_needs_a_reason_and_is_recorded(client: TestClient, tokens: dict) -> None:
    too_long = {"valid_from": "2026-01-01T00:00", "valid_to": "2028-06-01T00:00"}
    status, body = create(client, tokens, **too_long, override_reason="Særlig hjemmel, jf. notat 17")
    assert status == 201
    assert body["properties"]["override"]["reason"] == "Særlig hjemmel, jf. notat 17"
    assert "max_period" in body["properties"]["override"]["rule"]
    legal = client.post("/api/v1/zones", headers=bearer(tokens["legal"]),
                        json=zone_feature(place(), **too_long, override_reason="forsøg"))
    assert legal.status_code == 403  # legal cannot create, let alone override


def test_a_new_kind_is_configuration_not_code(tmp_path: Path) -> None:
    spec = yaml.safe_load((REPO_ROOT / "layers" / "kinds.yaml").read_text(encoding="utf-8"))
    spec["kinds"]["festivalzone"] = {
        "name": {"da": "Festivalzone", "en": "Festival zone"},
        "meaning": {"da": "Testkategori.", "en": "Test kind."},
        "max_period": {"days": 10},
        "end_required": True,
        "warning_days": [2],
    }
    (tmp_path / "kinds.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    rules = load_layers(tmp_path).kind("festivalzone")
    ok = parse_period("2026-07-01T10:00", "2026-07-11T10:00", prefix="")
    too_long = parse_period("2026-07-01T10:00", "2026-07-11T10:01", prefix="")
    assert check_period(rules, ok) == []
    assert [b.rule for b in check_period(rules, too_long)] == ["max_period"]
    assert "festivalzone: max_period" in check_period(rules, too_long)[0].text
