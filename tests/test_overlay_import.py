"""Importing incidents and survey responses: every format, every bad row kind, all or nothing, skip-invalid with a
report of every rejected row, and re-imports that change nothing."""

from __future__ import annotations

import io
import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import psycopg
import pyogrio
import pytest
import shapely
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.conftest import bearer
from tests.helpers import AALBORG_MIDTBY, GOTHERSGADE, TO_UTM

# Times of the rows below: 2024 Q2, a quarter the demo data leaves empty.
T1 = "2024-05-03T23:40:00+02:00"
T2 = "2024-05-04T01:15:00"  # Copenhagen local time
MALMO = (13.0038, 55.6050)  # inside Denmark's bounding box, but Sweden


def csv_text(rows: list[dict[str, object]]) -> str:
    cols = list(rows[0])
    return "\n".join([",".join(cols)] + [",".join(str(r.get(c, "")) for c in cols) for r in rows]) + "\n"


def post(client: TestClient, token: str, name: str, data: bytes, kind: str = "incidents", **params: object):
    return client.post(f"/api/v1/imports/{kind}", params=params, headers=bearer(token),
                       files={"file": (name, data, "application/octet-stream")})


def count(conn: psycopg.Connection, source: str) -> int:
    return conn.execute("SELECT count(*) FROM incident WHERE source = %s", (source,)).fetchone()[0]


GOOD = [
    {"id": "A-1", "category": "vold", "occurred_at": T1, "lat": GOTHERSGADE[1], "lon": GOTHERSGADE[0]},
    {"id": "A-2", "category": "Røveri", "occurred_at": T2, "lat": AALBORG_MIDTBY[1], "lon": AALBORG_MIDTBY[0]},
    {"id": "A-3", "category": "ROVERI", "occurred_at": "2024-05-04T02:00:00Z", "lat": 55.6761, "lon": 12.5683},
]


def test_csv_with_lat_lon_imports_and_a_second_import_changes_nothing(client: TestClient, tokens: dict,
                                                                      conn: psycopg.Connection) -> None:
    data = csv_text(GOOD).encode()
    first = post(client, tokens["analyst"], "incidents.csv", data, source="csv-latlon")
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["inserted"], body["updated"], body["unchanged"], body["rejected_count"]) == (3, 0, 0, 0)
    again = post(client, tokens["analyst"], "incidents.csv", data, source="csv-latlon")
    assert again.status_code == 200
    assert (again.json()["inserted"], again.json()["updated"], again.json()["unchanged"]) == (0, 0, 3)
    assert count(conn, "csv-latlon") == 3
    rows = dict(conn.execute("SELECT external_id, category FROM incident WHERE source = 'csv-latlon'").fetchall())
    assert rows == {"A-1": "vold", "A-2": "roeveri", "A-3": "roeveri"}
    # Local time without an offset is Copenhagen time (CEST in May): 01:15 local = 23:15 UTC the day before.
    utc = conn.execute("SELECT to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') FROM incident"
                       " WHERE source = 'csv-latlon' AND external_id = 'A-2'").fetchone()[0]
    assert utc == "2024-05-03 23:15"
    kommune = conn.execute("SELECT kommune_code, politikreds_code FROM incident WHERE source = 'csv-latlon'"
                           " AND external_id = 'A-2'").fetchone()
    assert kommune == ("0851", "1")
    # The import batch is recorded and audited.
    batches = conn.execute("SELECT inserted, unchanged, imported_by FROM overlay_import WHERE source = 'csv-latlon'"
                           " ORDER BY id").fetchall()
    assert batches == [(3, 0, "test-analyst"), (0, 3, "test-analyst")]
    assert conn.execute("SELECT count(*) FROM audit_log WHERE entity = 'overlay_import' AND action ="
                        " 'overlay.import.incidents'").fetchone()[0] >= 2


def test_a_corrected_row_updates_its_incident_in_place(client: TestClient, tokens: dict,
                                                       conn: psycopg.Connection) -> None:
    post(client, tokens["analyst"], "a.csv", csv_text(GOOD[:1]).encode(), source="correction")
    fixed = [{**GOOD[0], "category": "trusler"}]
    body = post(client, tokens["analyst"], "a.csv", csv_text(fixed).encode(), source="correction").json()
    assert (body["inserted"], body["updated"]) == (0, 1)
    assert conn.execute("SELECT category FROM incident WHERE source = 'correction'").fetchall() == [("trusler",)]


def test_csv_without_id_column_is_still_idempotent(client: TestClient, tokens: dict, conn: psycopg.Connection) -> None:
    rows = [{k: v for k, v in r.items() if k != "id"} for r in GOOD]
    rows.append(dict(rows[0]))  # the same row twice is two incidents, not a duplicate id
    data = csv_text(rows).encode()
    assert post(client, tokens["analyst"], "noid.csv", data, source="noid").json()["inserted"] == 4
    assert post(client, tokens["analyst"], "noid.csv", data, source="noid").json()["unchanged"] == 4
    assert count(conn, "noid") == 4


def test_csv_with_x_y_in_epsg_25832(client: TestClient, tokens: dict, conn: psycopg.Connection) -> None:
    x, y = TO_UTM.transform(*GOTHERSGADE)
    data = csv_text([{"id": "X-1", "category": "narko", "time": T1, "x": round(x, 2), "y": round(y, 2)}]).encode()
    assert post(client, tokens["analyst"], "xy.csv", data, source="csv-xy").status_code == 201
    got = conn.execute("SELECT ST_X(geom), ST_Y(geom) FROM incident WHERE source = 'csv-xy'").fetchone()
    assert got == pytest.approx((x, y), abs=0.01)


def test_x_y_swapped_or_in_degrees_are_named_as_such(client: TestClient, tokens: dict,
                                                      conn: psycopg.Connection) -> None:
    x, y = TO_UTM.transform(*GOTHERSGADE)
    lon, lat = GOTHERSGADE
    rows = [{"id": "XY-1", "category": "vold", "time": T1, "x": round(y, 2), "y": round(x, 2)},
            {"id": "XY-2", "category": "vold", "time": T1, "x": lon, "y": lat},
            {"id": "XY-3", "category": "vold", "time": T1, "x": lat, "y": lon},
            {"id": "XY-4", "category": "vold", "time": T1, "x": round(x + 2_000_000, 2), "y": round(y, 2)}]
    problem = post(client, tokens["analyst"], "xy.csv", csv_text(rows).encode(), source="xy-hints").json()
    reasons = {e["line"]: e["reason"] for e in problem["errors"]}
    assert "x and y look swapped" in reasons[2]
    assert "look like degrees (lon/lat)" in reasons[3] and "use lat and lon columns, or declare EPSG:4326" in reasons[3]
    assert "look like degrees" in reasons[4]
    assert "outside Denmark" in reasons[5] and "swapped" not in reasons[5] and "degrees" not in reasons[5]
    assert {e["field"] for e in problem["errors"]} == {"x,y"}
    assert count(conn, "xy-hints") == 0


def _frame(crs: int = 4326) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame(
        {"id": ["G-1", "G-2"], "kategori": ["tyveri", "Hærværk"], "tidspunkt": [T1, T2]},
        geometry=[shapely.Point(*GOTHERSGADE), shapely.Point(*AALBORG_MIDTBY)], crs=4326)
    return frame.to_crs(crs)


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "shp-zip"])
def test_geo_formats_import_the_same_points(fmt: str, client: TestClient, tokens: dict, conn: psycopg.Connection,
                                            tmp_path: Path) -> None:
    frame = _frame(25832 if fmt == "shp-zip" else 4326)
    if fmt == "geojson":
        path = tmp_path / "in.geojson"
        frame.to_file(path, driver="GeoJSON")
        name, data = "in.geojson", path.read_bytes()
    elif fmt == "gpkg":
        path = tmp_path / "in.gpkg"
        frame.to_file(path, driver="GPKG", layer="hændelser")
        name, data = "in.gpkg", path.read_bytes()
    else:
        shp = tmp_path / "shp"
        shp.mkdir()
        frame.to_file(shp / "in.shp", driver="ESRI Shapefile")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for part in sorted(shp.iterdir()):
                archive.write(part, part.name)
        name, data = "in.zip", buffer.getvalue()
    response = post(client, tokens["analyst"], name, data, source=f"fmt-{fmt}")
    assert response.status_code == 201, response.text
    rows = conn.execute("SELECT external_id, category, ST_X(ST_Transform(geom, 4326)), ST_Y(ST_Transform(geom, 4326))"
                        " FROM incident WHERE source = %s ORDER BY external_id", (f"fmt-{fmt}",)).fetchall()
    assert [(r[0], r[1]) for r in rows] == [("G-1", "tyveri"), ("G-2", "haervaerk")]
    assert rows[0][2:] == pytest.approx(GOTHERSGADE, abs=1e-6)


def _zipped_shapefile(frame: gpd.GeoDataFrame, folder: Path) -> bytes:
    folder.mkdir()
    with warnings.catch_warnings():  # GDAL says so when it cuts a field name: that is the point here
        warnings.simplefilter("ignore")
        frame.to_file(folder / "in.shp", driver="ESRI Shapefile", engine="pyogrio")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for part in sorted(folder.iterdir()):
            archive.write(part, part.name)
    return buffer.getvalue()


def test_a_shapefile_with_field_names_cut_to_10_characters_imports(client: TestClient, tokens: dict,
                                                                   conn: psycopg.Connection, tmp_path: Path) -> None:
    """A .dbf keeps 10 bytes of a field name: external_id, occurred_at, precision_m arrive as external_i,
    occurred_a, precision_ (and safety_score, trust_police as safety_sco, trust_poli)."""
    incidents = gpd.GeoDataFrame(
        {"external_id": ["S-1", "S-2"], "category": ["tyveri", "vold"], "occurred_at": [T1, T2],
         "precision_m": ["25", "100"]},
        geometry=[shapely.Point(*GOTHERSGADE), shapely.Point(*AALBORG_MIDTBY)], crs=4326).to_crs(25832)
    data = _zipped_shapefile(incidents, tmp_path / "inc")
    assert {"external_i", "occurred_a", "precision_"} <= set(pyogrio.read_info(tmp_path / "inc" / "in.shp")["fields"])
    response = post(client, tokens["analyst"], "in.zip", data, source="shp-cut")
    assert response.status_code == 201, response.text
    rows = conn.execute("SELECT external_id, category, precision_m FROM incident WHERE source = 'shp-cut' "
                        "ORDER BY external_id").fetchall()
    assert rows == [("S-1", "tyveri", 25), ("S-2", "vold", 100)]
    survey = gpd.GeoDataFrame(
        {"respondent_id": ["R-1", "R-2"], "year": ["2023", "2023"], "safety_score": ["2", "6"],
         "trust_police": ["ja", "nej"]},
        geometry=[shapely.Point(*GOTHERSGADE), shapely.Point(*AALBORG_MIDTBY)], crs=4326)
    data = _zipped_shapefile(survey, tmp_path / "survey")
    cut = set(pyogrio.read_info(tmp_path / "survey" / "in.shp")["fields"])
    assert {"respondent", "safety_sco", "trust_poli"} <= cut
    response = post(client, tokens["analyst"], "survey.zip", data, kind="survey-responses", source="shp-cut")
    assert response.status_code == 201, response.text
    rows = conn.execute("SELECT external_id, safety_score, trust FROM survey_response WHERE source = 'shp-cut' "
                        "ORDER BY external_id").fetchall()
    assert rows == [("R-1", 2, "yes"), ("R-2", 6, "no")]


BAD_ROWS = [
    # (row, field, reason fragment)
    ({"id": "B-1", "category": "spøgelse", "occurred_at": T1, "lat": 55.68, "lon": 12.57}, "category",
     "unknown category"),
    ({"id": "B-2", "category": "", "occurred_at": T1, "lat": 55.68, "lon": 12.57}, "category", "missing category"),
    ({"id": "B-3", "category": "vold", "occurred_at": "", "lat": 55.68, "lon": 12.57}, "occurred_at", "missing time"),
    ({"id": "B-4", "category": "vold", "occurred_at": "i går", "lat": 55.68, "lon": 12.57}, "occurred_at",
     "not an ISO 8601"),
    ({"id": "B-5", "category": "vold", "occurred_at": "2024-03-31T02:30:00", "lat": 55.68, "lon": 12.57},
     "occurred_at", "summer time"),
    ({"id": "B-6", "category": "vold", "occurred_at": "2024-05-03", "lat": 55.68, "lon": 12.57}, "occurred_at",
     "without a time of day"),
    ({"id": "B-7", "category": "vold", "occurred_at": "2099-01-01T12:00:00Z", "lat": 55.68, "lon": 12.57},
     "occurred_at", "in the future"),
    ({"id": "B-8", "category": "vold", "occurred_at": T1, "lat": 48.85, "lon": 2.35}, "lat,lon", "outside Denmark"),
    ({"id": "B-9", "category": "vold", "occurred_at": T1, "lat": 12.57, "lon": 55.68}, "lat,lon", "look swapped"),
    ({"id": "B-10", "category": "vold", "occurred_at": T1, "lat": MALMO[1], "lon": MALMO[0]}, "lat,lon",
     "from any Danish kommune"),
    ({"id": "B-11", "category": "vold", "occurred_at": T1, "lat": "", "lon": ""}, "lat,lon", "missing coordinates"),
    ({"id": "B-12", "category": "vold", "occurred_at": T1, "lat": "nord", "lon": 12.57}, "lat,lon", "must be numbers"),
    ({"id": "", "category": "vold", "occurred_at": T1, "lat": 55.68, "lon": 12.57}, "external_id", "missing id"),
    ({"id": "A-1", "category": "vold", "occurred_at": T1, "lat": 55.68, "lon": 12.57}, "external_id",
     "duplicate id, first on line 2"),
]


def _bad_file() -> bytes:
    rows = [{**GOOD[0], "precision_m": ""}] + [{**r, "precision_m": ""} for r, _, _ in BAD_ROWS]
    rows.append({**GOOD[1], "id": "B-13", "precision_m": "-5"})
    return csv_text(rows).encode()


def test_every_bad_row_kind_refuses_the_file_and_names_line_field_and_reason(
        client: TestClient, tokens: dict, conn: psycopg.Connection) -> None:
    response = post(client, tokens["analyst"], "bad.csv", _bad_file(), source="bad-all-or-nothing")
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("import-rejected")
    assert "nothing was imported" in problem["detail"]
    errors = problem["errors"]
    assert problem["rejected_count"] == len(BAD_ROWS) + 1 == len(errors)
    for line, (_, field, reason) in enumerate(BAD_ROWS, start=3):
        hit = [e for e in errors if e["line"] == line]
        assert hit, f"line {line} not reported"
        assert hit[0]["field"] == field and reason in hit[0]["reason"], hit
        assert hit[0]["file"] == "bad.csv"
    assert next(e for e in errors if e["line"] == len(BAD_ROWS) + 3)["field"] == "precision_m"
    assert count(conn, "bad-all-or-nothing") == 0  # all or nothing: the good row was not written either


def test_skip_invalid_imports_the_good_rows_and_reports_every_rejected_one(
        client: TestClient, tokens: dict, conn: psycopg.Connection) -> None:
    response = post(client, tokens["analyst"], "bad.csv", _bad_file(), source="bad-skip", skip_invalid=True)
    assert response.status_code == 201
    body = response.json()
    assert body["inserted"] == 1 and body["rejected_count"] == len(BAD_ROWS) + 1 == len(body["rejected"])
    assert {r["line"] for r in body["rejected"]} == set(range(3, len(BAD_ROWS) + 4))
    assert count(conn, "bad-skip") == 1


def test_bad_geometry_in_a_geojson_names_the_feature(client: TestClient, tokens: dict, conn: psycopg.Connection,
                                                     tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame({"id": ["P", "L"], "category": ["vold", "vold"], "occurred_at": [T1, T1]},
                             geometry=[shapely.Point(*GOTHERSGADE), shapely.LineString([GOTHERSGADE, AALBORG_MIDTBY])],
                             crs=4326)
    path = tmp_path / "mixed.geojson"
    frame.to_file(path, driver="GeoJSON")
    problem = post(client, tokens["analyst"], "mixed.geojson", path.read_bytes(), source="geo-bad").json()
    assert problem["errors"] == [{"field": "geometry", "reason": "geometry must be a Point", "feature": 2,
                                  "value": None, "file": "mixed.geojson"}]


@pytest.mark.parametrize(("name", "data", "field"), [
    ("notes.txt.exe", b"x", "file"),
    ("x.csv", b"kategori,lat,lon\nvold,55.6,12.5\n", "occurred_at"),
    ("x.csv", b"category,occurred_at\nvold,2024-05-03T12:00:00Z\n", "lat,lon"),
    ("x.geojson", b"{not json", "file"),
])
def test_unusable_files_are_refused_naming_what_is_missing(client: TestClient, tokens: dict, name: str, data: bytes,
                                                           field: str) -> None:
    response = post(client, tokens["analyst"], name, data, source="unusable")
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field


@pytest.mark.parametrize(("who", "status"), [(None, 401), ("officer", 403), ("legal", 403), ("analyst", 201),
                                             ("admin", 201)])
def test_only_analysts_and_admins_import(client: TestClient, tokens: dict, who: str | None, status: int) -> None:
    data = csv_text([{**GOOD[0], "id": f"R-{who}"}]).encode()
    response = client.post("/api/v1/imports/incidents", params={"source": "roles"},
                           headers=bearer(tokens[who]) if who else {},
                           files={"file": ("r.csv", data, "text/csv")})
    assert response.status_code == status


@pytest.mark.parametrize(("who", "status"), [(None, 401), ("officer", 403), ("legal", 403)])
def test_an_upload_is_refused_before_it_is_read_or_stored(client: TestClient, tokens: dict, who: str | None,
                                                          status: int, monkeypatch) -> None:
    """The role comes first: a body that is not even valid multipart gets 401/403 (FastAPI would otherwise parse,
    and spool, the form before resolving who is asking), and no temporary copy is made."""
    import tempfile

    made: list[str] = []
    real = tempfile.TemporaryDirectory
    monkeypatch.setattr(tempfile, "TemporaryDirectory", lambda *a, **kw: made.append("dir") or real(*a, **kw))
    headers = {"content-type": "multipart/form-data; boundary=nope", **(bearer(tokens[who]) if who else {})}
    garbage = client.post("/api/v1/imports/incidents", params={"source": "early"}, headers=headers,
                          content=b"not multipart at all" * 1000)
    assert garbage.status_code == status, garbage.text
    data = csv_text([{**GOOD[0], "id": "EARLY-1"}]).encode()
    upload = client.post("/api/v1/imports/survey-responses", params={"source": "early"},
                         headers=bearer(tokens[who]) if who else {}, files={"file": ("e.csv", data, "text/csv")})
    assert upload.status_code == status and made == []
    fine = post(client, tokens["analyst"], "e.csv", data, source=f"early-{who}")
    assert fine.status_code == 201 and made == ["dir"]
    missing = client.post("/api/v1/imports/incidents", params={"source": "early"}, headers=bearer(tokens["analyst"]),
                          files={"other": ("e.csv", data, "text/csv")})
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "file"


def test_cli_import_with_progress_and_rejected_rows_report(settings, db_name: str, tmp_path: Path,
                                                           conn: psycopg.Connection, monkeypatch) -> None:
    from geoservice.cli import app
    from geoservice.settings import get_settings

    path = tmp_path / "cli.csv"
    path.write_bytes(_bad_file())
    report = tmp_path / "rejected.csv"
    monkeypatch.setenv("GEOSERVICE_DB_NAME", db_name)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        refused = runner.invoke(app, ["overlays", "import-incidents", str(path), "--source", "cli", "--quiet"])
        assert refused.exit_code == 2 and "nothing was imported" in refused.output
        done = runner.invoke(app, ["overlays", "import-incidents", str(path), "--source", "cli", "--skip-invalid",
                                   "--rejected-report", str(report)])
        assert done.exit_code == 0, done.output
        assert "1 inserted" in done.output and "rows" in done.output
    finally:
        get_settings.cache_clear()
    lines = report.read_text().splitlines()
    assert lines[0] == "line,field,reason,value" and len(lines) == len(BAD_ROWS) + 2
    assert count(conn, "cli") == 1


def test_cli_all_or_nothing_names_every_line_and_writes_the_report(db_name: str, tmp_path: Path,
                                                                   conn: psycopg.Connection, monkeypatch) -> None:
    """The default mode (nothing imported) names each bad row by line, like --skip-invalid, and writes
    --rejected-report too; past 50 rows the terminal shows the count and points to the report."""
    from geoservice.cli import app
    from geoservice.settings import get_settings

    path, report = tmp_path / "bad.csv", tmp_path / "r.csv"
    path.write_bytes(_bad_file())
    many = tmp_path / "many.csv"
    many.write_text(csv_text([{**GOOD[0], "id": f"M-{i}", "category": "alien"} for i in range(60)]))
    many_report = tmp_path / "many_r.csv"
    monkeypatch.setenv("GEOSERVICE_DB_NAME", db_name)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        refused = runner.invoke(app, ["overlays", "import-incidents", str(path), "--source", "cli-aon", "--quiet",
                                      "--rejected-report", str(report)])
        capped = runner.invoke(app, ["overlays", "import-incidents", str(many), "--source", "cli-aon", "--quiet",
                                     "--rejected-report", str(many_report)])
    finally:
        get_settings.cache_clear()
    assert refused.exit_code == 2 and "nothing was imported" in refused.output
    printed = [text.strip() for text in refused.output.splitlines()]
    for line, (_, field, reason) in enumerate(BAD_ROWS, start=3):
        assert [t for t in printed if t.startswith(f"line {line}: {field}: ") and reason in t], line
    assert f"line {len(BAD_ROWS) + 3}: precision_m: " in refused.output
    lines = report.read_text().splitlines()
    assert lines[0] == "line,field,reason,value" and len(lines) == len(BAD_ROWS) + 2
    assert lines[1].startswith("3,category,unknown category")
    assert capped.exit_code == 2
    assert "line 51: category" in capped.output and "line 52: category" not in capped.output
    assert f"and 10 more rejected row(s); the full list is in {many_report}" in capped.output
    assert len(many_report.read_text().splitlines()) == 61
    assert count(conn, "cli-aon") == 0


def test_survey_import_with_points_and_areas_and_bad_rows(client: TestClient, tokens: dict,
                                                          conn: psycopg.Connection) -> None:
    rows = [
        {"id": "S-1", "year": 2020, "score": 2, "trust": "ja", "weight": 1.5, "lat": 55.68, "lon": 12.57,
         "politikreds": ""},
        {"id": "S-2", "year": 2020, "score": 7, "trust": "ved ikke", "weight": "", "lat": "", "lon": "",
         "politikreds": "12"},
        {"id": "S-3", "year": 2020, "score": 9, "trust": "ja", "weight": 1, "lat": 55.68, "lon": 12.57,
         "politikreds": ""},
        {"id": "S-4", "year": 1999, "score": 5, "trust": "måske", "weight": 0, "lat": "", "lon": "",
         "politikreds": "99"},
        {"id": "S-5", "year": 2020, "score": 4, "trust": "", "weight": 1, "lat": "", "lon": "", "politikreds": ""},
    ]
    data = csv_text(rows).encode()
    problem = post(client, tokens["analyst"], "survey.csv", data, kind="survey-responses", source="svy").json()
    got = {(e["line"], e["field"]) for e in problem["errors"]}
    assert got == {(4, "safety_score"), (5, "year"), (5, "trust"), (5, "weight"), (5, "politikreds"), (6, "lat,lon")}
    body = post(client, tokens["analyst"], "survey.csv", data, kind="survey-responses", source="svy",
                skip_invalid=True).json()
    assert body["inserted"] == 2
    stored = conn.execute("SELECT external_id, safety_score, trust, weight, area_type, politikreds_code,"
                          " geom IS NOT NULL FROM survey_response WHERE source = 'svy' ORDER BY 1").fetchall()
    assert stored == [("S-1", 2, "yes", 1.5, None, "11", True), ("S-2", 7, "dont_know", 1.0, "politikreds", "12",
                                                                   False)]


# --- the file decides nothing: the suffix picks the one GDAL driver that reads it --------------------------------


def _vrt_pointing_at(target: Path) -> bytes:
    """An OGR VRT that reads `target` (a local CSV of incidents) as point features."""
    return f"""<OGRVRTDataSource>
  <OGRVRTLayer name="local">
    <SrcDataSource>{target}</SrcDataSource>
    <SrcLayer>{target.stem}</SrcLayer>
    <GeometryType>wkbPoint</GeometryType>
    <LayerSRS>EPSG:4326</LayerSRS>
    <GeometryField encoding="PointFromColumns" x="lon" y="lat"/>
  </OGRVRTLayer>
</OGRVRTDataSource>
""".encode()


@pytest.fixture
def local_file(tmp_path: Path) -> Path:
    """A file on the server that an upload must never be able to read (here: valid incident rows)."""
    path = tmp_path / "server-local.csv"
    path.write_text(csv_text([{**GOOD[0], "id": "LOCAL-SECRET-1"}]))
    return path


def test_a_vrt_disguised_as_geojson_is_refused_and_reads_nothing(client: TestClient, tokens: dict,
                                                                 conn: psycopg.Connection, local_file: Path) -> None:
    response = post(client, tokens["analyst"], "innocent.geojson", _vrt_pointing_at(local_file), source="vrt")
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "file"
    assert "GeoJSON" in response.json()["detail"]
    assert "LOCAL-SECRET" not in response.text and str(local_file) not in response.text
    assert count(conn, "vrt") == 0


@pytest.mark.parametrize("name", ["innocent.gpkg", "innocent.json"])
def test_a_vrt_under_other_geo_suffixes_is_refused(client: TestClient, tokens: dict, conn: psycopg.Connection,
                                                   local_file: Path, name: str) -> None:
    response = post(client, tokens["analyst"], name, _vrt_pointing_at(local_file), source="vrt-other")
    assert response.status_code == 422, response.text
    assert "LOCAL-SECRET" not in response.text
    assert count(conn, "vrt-other") == 0


def test_a_vrt_named_shp_inside_a_zip_is_refused(client: TestClient, tokens: dict, conn: psycopg.Connection,
                                                 local_file: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("data.shp", _vrt_pointing_at(local_file))
        archive.writestr("data.prj", 'GEOGCS["WGS 84"]')
    response = post(client, tokens["analyst"], "data.zip", buffer.getvalue(), source="vrt-zip")
    assert response.status_code == 422, response.text
    assert "Shapefile" in response.json()["detail"] and "LOCAL-SECRET" not in response.text
    assert count(conn, "vrt-zip") == 0


@pytest.mark.parametrize(("name", "data"), [("broken.zip", b"not a zip"), ("points.shp", b"\x00\x00\x27\x0a"),
                                            ("points.vrt", b"<OGRVRTDataSource/>")])
def test_other_unreadable_or_unsupported_files_are_a_clear_422(client: TestClient, tokens: dict, name: str,
                                                               data: bytes) -> None:
    response = post(client, tokens["analyst"], name, data, source="unsupported")
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "file"


def test_the_cli_refuses_a_disguised_vrt_too(db_name: str, tmp_path: Path, conn: psycopg.Connection,
                                             local_file: Path, monkeypatch) -> None:
    from geoservice.cli import app
    from geoservice.settings import get_settings

    path = tmp_path / "innocent.geojson"
    path.write_bytes(_vrt_pointing_at(local_file))
    monkeypatch.setenv("GEOSERVICE_DB_NAME", db_name)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["overlays", "import-incidents", str(path), "--source", "vrt-cli",
                                          "--quiet"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2, result.output
    assert "not a GeoJSON file" in result.output and "LOCAL-SECRET" not in result.output
    assert count(conn, "vrt-cli") == 0


def test_the_import_permission_is_a_real_check_not_an_assert(settings, db_name: str, tmp_path: Path,
                                                             monkeypatch) -> None:
    """The access rules decide: even a role on the import list is refused when the rules say no (an `assert`
    would vanish under python -O and otherwise fail as a 500)."""
    import asyncio

    from geoservice import access
    from geoservice.access import Principal, Role
    from geoservice.db import Database
    from geoservice.errors import Forbidden
    from geoservice.overlays import importer

    def no_imports(principal: Principal) -> access.OverlayAccess:
        return access.OverlayAccess(True, None, None, True, True, True, imports=False)

    monkeypatch.setattr(access, "overlay_access", no_imports)
    monkeypatch.setattr(importer, "overlay_access", no_imports, raising=False)
    path = tmp_path / "rows.csv"
    path.write_text(csv_text([{**GOOD[0], "id": "ASSERT-1"}]))

    async def run() -> None:
        db = Database(settings, db_name)
        await db.open()
        try:
            await importer.import_file(db, Principal(Role.analyst, username="x"), "incidents", path, source="assert")
        finally:
            await db.close()

    with pytest.raises(Forbidden):
        asyncio.run(run())
