"""GET /healthz (the process answers) and GET /readyz (the database answers and its schema is current)."""

from __future__ import annotations

import orjson
from fastapi import APIRouter
from starlette.responses import Response

from geoservice.api.answers import JSON, Liveness, Readiness, ok
from geoservice.api.deps import DbDep
from geoservice.api.problems import problem_response
from geoservice.errors import ServiceUnavailable
from geoservice.readiness import readiness

router = APIRouter(tags=["operations"])

NO_STORE = {"Cache-Control": "no-store"}


@router.get("/healthz", summary="Liveness: the process answers (no database access)",
            responses=ok((JSON, Liveness)))
async def healthz() -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json", headers=NO_STORE)


@router.get("/readyz", summary="Readiness: database reachable and migrations current, each check with its time",
            responses={**ok((JSON, Readiness)),
                       503: {"description": "Not ready: a problem document with the failing checks"}})
async def readyz(db: DbDep) -> Response:
    result = await readiness(db)
    if result["ready"]:
        return Response(orjson.dumps({"status": "ready", "checks": result["checks"]}),
                        media_type="application/json", headers=NO_STORE)
    failing = [name for name, check in result["checks"].items() if not check["ok"]]
    problem = ServiceUnavailable(f"not ready: {', '.join(failing)}", extra={"checks": result["checks"]})
    return problem_response(503, problem.to_problem("/readyz"), NO_STORE)
