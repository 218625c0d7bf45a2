"""The OpenAPI document describes the API: every answer's schema, status code and media type, and every
constraint the handlers enforce. Checked on the document itself, and by schemathesis against a real server
(every operation, public and with an admin token, every check); routes added later are covered as they come."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from geoservice.settings import REPO_ROOT, Settings
from tests.conftest import ARTIFACTS, serving

PROBLEM = "application/problem+json"
METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def document(client: TestClient) -> dict[str, Any]:
    return client.get("/openapi.json").json()


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method.upper(), path, operation


def test_every_success_answer_has_a_schema_and_its_real_media_type(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        success = {code: r for code, r in operation["responses"].items() if code.startswith("2")}
        assert success, f"{method} {path} documents no success answer"
        for code, response in success.items():
            if code == "204":  # No Content: nothing to describe
                assert not response.get("content"), f"{method} {path} 204 with a body"
                continue
            assert response.get("content"), f"{method} {path} {code}: no media type"
            for media_type, content in response["content"].items():
                assert content.get("schema") not in (None, {}), f"{method} {path} {code} {media_type}: empty schema"


def test_every_error_is_a_documented_problem(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        responses = operation["responses"]
        assert {"400", "422"} <= set(responses), f"{method} {path}"
        if "security" in operation:
            assert {"401", "403", "429"} <= set(responses), f"{method} {path}"
        if "{" in path:
            assert "404" in responses, f"{method} {path}"
        if "requestBody" in operation:
            assert "413" in responses, f"{method} {path}"
        for code, response in responses.items():
            if code.startswith("4") and not (path == "/api/v1/audit/verify" and code == "409"):
                assert list(response["content"]) == [PROBLEM], f"{method} {path} {code}"


def request_schemas(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The component schemas request bodies use, directly or nested."""
    components = document["components"]["schemas"]
    found: dict[str, dict[str, Any]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/components/schemas/") and (name := ref.rsplit("/", 1)[1]) not in found:
                found[name] = components[name]
                walk(components[name])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for _, _, operation in operations(document):
        walk(operation.get("requestBody", {}))
    return found


def test_every_number_is_bounded_and_every_text_refuses_control_characters(document: dict[str, Any]) -> None:
    def check(where: str, schema: dict[str, Any]) -> None:
        for option in schema.get("anyOf", [schema]):
            if option.get("type") in ("integer", "number"):
                assert "minimum" in option and "maximum" in option, f"{where} is not bounded"
            if option.get("type") == "string" and not {"enum", "const", "format"} & option.keys():
                assert "pattern" in option, f"{where} states no rule for its text"

    for method, path, operation in operations(document):
        for parameter in operation.get("parameters", []):
            check(f"{method} {path} {parameter['name']}", parameter["schema"])
    bodies = request_schemas(document)
    assert {"ZoneFeatureIn", "RevokeIn", "TrackPoint", "ReportIn"} <= set(bodies)
    for name, schema in bodies.items():
        for field, prop in schema.get("properties", {}).items():
            check(f"{name}.{field}", prop)
            check(f"{name}.{field}[]", prop.get("items", {}))


def test_the_token_is_a_security_scheme_not_a_parameter(document: dict[str, Any]) -> None:
    assert document["components"]["securitySchemes"]["bearerToken"]["scheme"] == "bearer"
    for method, path, operation in operations(document):
        names = {p["name"].lower() for p in operation.get("parameters", [])}
        assert "authorization" not in names, f"{method} {path}"
    lookup = document["paths"]["/api/v1/lookup"]["get"]
    assert lookup["security"] == [{}, {"bearerToken": []}]  # the BareRoute reads the token too


def test_lookup_states_denmarks_box(document: dict[str, Any], client: TestClient) -> None:
    params = {p["name"]: p["schema"] for p in document["paths"]["/api/v1/lookup"]["get"]["parameters"]}
    assert (params["lat"]["minimum"], params["lat"]["maximum"]) == (54.45, 57.9)
    assert (params["lon"]["minimum"], params["lon"]["maximum"]) == (7.8, 15.4)
    # outside it the answer is the documented 422, inside it (on land) the lookup answers
    assert client.get("/api/v1/lookup", params={"lat": 0, "lon": 0}).status_code == 422
    assert client.get("/api/v1/lookup", params={"lat": 55.68, "lon": 12.58}).status_code == 200


def test_kinds_and_categories_come_from_layers(document: dict[str, Any]) -> None:
    import re

    kind = next(p for p in document["paths"]["/api/v1/zones"]["get"]["parameters"] if p["name"] == "kind")
    pattern = kind["schema"]["pattern"]
    assert re.search(pattern, "nattelivszone,visitationszone") and not re.search(pattern, "nattelivszone,x")


# --- schemathesis --------------------------------------------------------------------------------------------

# Bounded for CI (a few minutes for both runs, which run side by side); `./dev fuzz` raises these for a longer run.
MAX_EXAMPLES = int(os.environ.get("GEOSERVICE_FUZZ_EXAMPLES", "5"))
PHASES = os.environ.get("GEOSERVICE_FUZZ_PHASES", "examples,coverage,fuzzing")
SEED = os.environ.get("GEOSERVICE_FUZZ_SEED", "20261130")
WORKERS = os.environ.get("GEOSERVICE_FUZZ_WORKERS", "1")


def schemathesis(base: str, name: str, headers: list[str]) -> subprocess.Popen[str]:
    """Schemathesis against the real server: every operation, every check (tests/schemathesis.toml)."""
    ARTIFACTS.mkdir(exist_ok=True)
    command = [
        str(Path(sys.executable).parent / "schemathesis"), "--config-file", str(REPO_ROOT / "tests/schemathesis.toml"),
        "run", f"{base}/openapi.json", "--checks", "all", "--seed", SEED, "--max-examples", str(MAX_EXAMPLES),
        "--phases", PHASES, "--workers", WORKERS, "--no-color", "--suppress-health-check", "all",
        "--report", "junit", "--report-junit-path", str(ARTIFACTS / f"schemathesis-{name}.xml"),
        *[arg for header in headers for arg in ("-H", header)],
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.schemathesis_hooks", "PYTHONPATH": str(REPO_ROOT)}
    output = (ARTIFACTS / f"schemathesis-{name}.txt").open("w", encoding="utf-8")
    return subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, text=True, env=env, cwd=REPO_ROOT)


@pytest.fixture(scope="module")
def fuzz_runs(settings: Settings, own_db: str, tokens: dict[str, str]) -> dict[str, int]:
    """The public and the admin run side by side, against one real server on a clone of its own (the admin
    run creates and changes zones): their exit codes."""
    with serving(settings, own_db) as base:
        runs = {"public": schemathesis(base, "public", []),
                "admin": schemathesis(base, "admin", [f"Authorization: Bearer {tokens['admin']}"])}
        return {who: run.wait(timeout=1800) for who, run in runs.items()}


@pytest.mark.slow
@pytest.mark.parametrize("who", ["public", "admin"])
def test_schemathesis_finds_nothing(fuzz_runs: dict[str, int], who: str) -> None:
    output = (ARTIFACTS / f"schemathesis-{who}.txt").read_text(encoding="utf-8")
    tail = "\n".join(output.splitlines()[-60:])
    assert fuzz_runs[who] == 0, f"schemathesis ({who}) found problems, see test-artifacts/:\n{tail}"
