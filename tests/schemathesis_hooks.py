"""Schemathesis hooks for tests/test_openapi.py and `./dev fuzz` (loaded through SCHEMATHESIS_HOOKS).

JSON Schema cannot say everything a request must be. Where a rule relates two values (a bbox's corners in
order), the generator is told; where it depends on data (a point inside Denmark's box may still lie in the sea
or in Sweden), a refusal is excused only when the answer is the problem type of that rule, so any other 422
for a schema-valid request still fails the run.
"""

from __future__ import annotations

from typing import Any

import schemathesis

# Problem types that answer a rule no schema can state: where a point is (land, not sea), what a zone's legal
# rules allow (layers/kinds.yaml), whether a boundary is a valid polygon, what the rows of an uploaded file hold.
DOMAIN_RULES = {
    "urn:geoservice:problem:outside-denmark",
    "urn:geoservice:problem:rule-violation",
    "urn:geoservice:problem:invalid-geometry",
    "urn:geoservice:problem:import-rejected",
}


def _bbox_in_order(value: Any) -> bool:
    if not isinstance(value, str):
        return True
    try:
        x0, y0, x1, y1 = (float(v) for v in value.split(","))
    except ValueError:
        return True  # not four numbers: the schema decides whether that is valid
    return x0 <= x1 and y0 <= y1


@schemathesis.hook
def filter_query(context: Any, query: dict[str, Any] | None) -> bool:
    """A bbox's minimum comes before its maximum (OGC API, RFC 7946), which a pattern cannot say."""
    return not query or _bbox_in_order(query.get("bbox"))


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """Keep every failure except a schema-valid request refused by a domain rule the answer names, or a write whose
    If-Match names another state of the zone than the current one (a generated tag is a stale tag: 412, as
    documented)."""
    if type(failure).__name__ == "AcceptedNegativeData" and response.status_code == 412:
        return False  # refused all the same: the precondition is checked before the body's geometry is read
    if type(failure).__name__ != "RejectedPositiveData" or response.status_code not in (412, 422):
        return True
    try:
        kind = response.json().get("type")
    except ValueError:
        return True
    if response.status_code == 412:
        return kind != "urn:geoservice:problem:precondition-failed"
    return kind not in DOMAIN_RULES
