"""Every text input is checked once, where input is parsed: a NUL byte or another control character is a 422
naming the field (never a 500), integers are bounded and NaN/Infinity refused. The routes and their parameters
are enumerated from the application, so routes added later are covered too."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import UnionType
from typing import Any, Union, get_args, get_origin

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel, ValidationError

from geoservice import schemas
from geoservice.overlays import schemas as overlay_schemas
from tests.conftest import bearer
from tests.helpers import zone_feature

PROBLEM = "application/problem+json"
CONTROLS = ["\x00", "\x1b", "\x7f", "\x85", "\x08"]


def operations(client: TestClient) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in client.get("/openapi.json").json()["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def concrete(path: str) -> str:
    return path.replace("{zone_id}", "1").replace("{report_id}", "1").replace("{code}", "KBH-CITY-01")


def assert_names(response: Any, field: str, where: str) -> None:
    assert response.status_code == 422, f"{where}: {response.status_code} {response.text[:300]}"
    assert response.headers["content-type"] == PROBLEM, where
    errors = response.json()["errors"]
    assert any(e["field"] == field and "control character" in e["reason"] for e in errors), f"{where}: {errors}"


@pytest.mark.parametrize("char", CONTROLS, ids=[f"U+{ord(c):04X}" for c in CONTROLS])
def test_a_control_character_in_any_query_parameter_of_any_route_is_a_422_naming_it(
        client: TestClient, tokens: dict, char: str) -> None:
    tried = 0
    for method, path, operation in operations(client):
        for parameter in operation.get("parameters", []):
            if parameter["in"] != "query" or parameter["schema"].get("type") != "string":
                continue
            for headers in ({}, bearer(tokens["admin"])):
                response = client.request(method, concrete(path), params={parameter["name"]: f"a{char}b"},
                                          headers=headers)
                assert_names(response, parameter["name"], f"{method} {path} ?{parameter['name']}")
                tried += 1
    assert tried > 80


def test_a_control_character_in_a_path_is_a_422(client: TestClient, tokens: dict) -> None:
    for path in ("/api/v1/sectors/KBH%00", "/api/v1/overlays/sectors/A%1bB/recent", "/static/x%00.js",
                 "/api/v1/zones/%00"):
        assert_names(client.get(path, headers=bearer(tokens["admin"])), "path", path)


def body_models() -> Iterator[type[BaseModel]]:
    """Every request body model (each derives from schemas.Strict, which checks the text)."""
    seen: set[type[BaseModel]] = set()
    for module in (schemas, overlay_schemas):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, schemas.Strict) and value is not schemas.Strict:
                seen.add(value)
    yield from sorted(seen, key=lambda m: m.__name__)


def text_fields(model: type[BaseModel]) -> Iterator[tuple[str, Callable[[str], Any]]]:
    """(field, how to put a text into it) for every field that holds text: a string, a list of strings, or
    a JSON object (a geometry, a crs member) whose strings are checked too."""
    for name, field in model.model_fields.items():
        annotation = field.annotation
        options = set(get_args(annotation)) if get_origin(annotation) in (Union, UnionType) else {annotation}
        if str in options:
            yield name, lambda text: text
        elif any(get_origin(o) is list and get_args(o) == (str,) for o in options):
            yield name, lambda text: [text]
        elif any(get_origin(o) is dict for o in options):
            yield name, lambda text: {"type": text}


@pytest.mark.parametrize("model", list(body_models()), ids=lambda m: m.__name__)
def test_every_text_field_of_every_body_refuses_control_characters(model: type[BaseModel]) -> None:
    fields = list(text_fields(model))
    assert fields, model
    for name, holding in fields:
        for char in CONTROLS:
            with pytest.raises(ValidationError) as caught:
                model.model_validate({name: holding(f"a{char}b")})
            assert any(e["loc"] == (name,) and e["type"] == "control_character" for e in caught.value.errors()), \
                (model.__name__, name, caught.value.errors())


def test_multiline_text_keeps_line_breaks_and_tabs(own_client: TestClient, tokens: dict) -> None:
    assert schemas.RevokeIn(reason="Ophævet.\nSe afgørelsen\tside 2").reason == "Ophævet.\nSe afgørelsen\tside 2"
    with pytest.raises(ValidationError):
        schemas.RevokeIn(reason="ok", decision_ref="A\nB")  # a reference is one line
    response = own_client.post("/api/v1/overlays/insecurity-reports", headers=bearer(tokens["analyst"]), json={
        "lat": 55.68, "lon": 12.58, "category": "belysning", "text": "Mørkt ved stien.\nLampen er i stykker."})
    assert response.status_code == 201, response.text
    assert response.json()["properties"]["text"] == "Mørkt ved stien.\nLampen er i stykker."


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/api/v1/zones", zone_feature(name="Zone\x00X"), "properties.name"),
    ("/api/v1/zones", zone_feature(decision_ref="J.nr.\u0000"), "properties.decision_ref"),
    ("/api/v1/zones", zone_feature(description="A\x00"), "properties.description"),
    ("/api/v1/zones/1/revoke", {"reason": "Ophævet\x00"}, "reason"),
    ("/api/v1/overlays/insecurity-reports", {"lat": 55.68, "lon": 12.58, "category": "belysning",
                                              "text": "a\u0000b"}, "text"),
    ("/api/v1/check/track", {"points": [{"lat": 55.68, "lon": 12.58, "at": "2025-09-01T12:00",
                                         "label": "a\x00"}]}, "points.0.label"),
])
def test_a_nul_in_a_body_field_is_a_422_naming_it(client: TestClient, tokens: dict, path: str, body: dict,
                                                  field: str) -> None:
    assert_names(client.post(path, json=body, headers=bearer(tokens["admin"])), field, path)


def test_every_integer_parameter_is_bounded(client: TestClient, tokens: dict) -> None:
    tried = 0
    for method, path, operation in operations(client):
        for parameter in operation.get("parameters", []):
            if parameter["schema"].get("type") != "integer" or parameter["in"] not in ("query", "path"):
                continue
            for value in ("99999999999999999999", "-99999999999999999999"):
                url = concrete(path).replace("/1", f"/{value}", 1) if parameter["in"] == "path" else concrete(path)
                params = {parameter["name"]: value} if parameter["in"] == "query" else {}
                response = client.request(method, url, params=params, headers=bearer(tokens["admin"]))
                assert response.status_code == 422, f"{method} {path} {parameter['name']}={value}: {response.text}"
                assert parameter["name"] in [e["field"] for e in response.json()["errors"]]
                tried += 1
    assert tried > 20


def test_every_number_parameter_refuses_nan_and_infinity(client: TestClient, tokens: dict) -> None:
    tried = 0
    for method, path, operation in operations(client):
        for parameter in operation.get("parameters", []):
            if parameter["schema"].get("type") != "number":
                continue
            for value in ("nan", "NaN", "inf", "-Infinity", "1e999"):
                response = client.request(method, concrete(path), params={parameter["name"]: value},
                                          headers=bearer(tokens["admin"]))
                assert response.status_code == 422, f"{method} {path} {parameter['name']}={value}"
                assert parameter["name"] in [e["field"] for e in response.json()["errors"]]
                tried += 1
    assert tried > 20


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_nan_and_infinity_in_a_body_are_refused(client: TestClient, tokens: dict, literal: str) -> None:
    body = '{"points": [{"lat": LAT, "lon": 12.58, "at": "2025-09-01T12:00"}]}'.replace("LAT", literal)
    response = client.post("/api/v1/check/track", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "points.0.lat"
