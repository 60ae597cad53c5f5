"""Every error is problem+json with the right status, and a 500 shows no internals."""

import pytest
from sqlalchemy.exc import OperationalError

from muli.app import create_app
from tests.conftest import make_config

PROBLEM = "application/problem+json"


def assert_problem(response, status):
    assert response.status_code == status
    assert response.content_type == PROBLEM
    body = response.json
    assert body["status"] == status
    assert body["type"].startswith("https://")
    assert body["title"]
    return body


def test_an_unknown_path_is_a_404_problem(client):
    assert_problem(client.get("/api/v1/no-such-thing"), 404)


def test_an_unknown_path_outside_the_api_is_a_404_problem_too(client):
    assert_problem(client.get("/definitely/not/here"), 404)


def test_a_wrong_method_is_a_405_problem_with_allow(client):
    r = client.put("/api/v1/auth/token")
    assert_problem(r, 405)
    assert "POST" in r.headers["Allow"]


def test_a_body_over_one_mebibyte_is_a_413_problem(client):
    r = client.post("/api/v1/auth/token", data=b"{" + b" " * (1024 * 1024 + 10) + b"}",
                    content_type="application/json")  # fmt: skip
    assert_problem(r, 413)


def test_a_missing_field_is_a_422_naming_the_field(client):
    body = assert_problem(client.post("/api/v1/auth/token", json={"username": "kari"}), 422)
    assert "password" in body["errors"]


def test_an_unknown_field_is_a_422_naming_the_field(client):
    body = assert_problem(
        client.post("/api/v1/auth/token", json={"username": "k", "password": "p", "role": "admin"}), 422
    )
    assert body["errors"] == {"role": ["Unknown field."]}


def test_malformed_json_is_a_400_problem(client):
    r = client.post("/api/v1/auth/token", data=b"{not json", content_type="application/json")
    assert r.content_type == PROBLEM
    assert r.status_code in (400, 422)


def test_no_token_is_a_401_problem(client):
    assert_problem(client.get("/api/v1/staff/patients"), 401)


@pytest.fixture(scope="module")
def crashing_app(tmp_path_factory):
    """A second app on its own database with a route that fails, to see a 500 answered."""
    tmp = tmp_path_factory.mktemp("crash")
    application = create_app(make_config(tmp, f"sqlite:///{tmp / 'crash.sqlite3'}"))

    @application.get("/api/v1/boom")
    def boom():
        raise RuntimeError("secret internals: /etc/passwd at line 42")

    @application.get("/api/v1/busy")
    def busy():
        raise OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))

    return application


def test_an_unexpected_error_is_a_500_problem_without_internals(crashing_app):
    r = crashing_app.test_client().get("/api/v1/boom")
    body = assert_problem(r, 500)
    assert "secret internals" not in r.get_data(as_text=True)
    assert "Traceback" not in r.get_data(as_text=True)
    assert body["title"] == "Internal Server Error"


def test_api_answers_carry_no_store_and_security_headers(client):
    r = client.get("/api/v1/staff/patients")
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
    assert r.headers["X-Request-ID"]


def test_the_openapi_document_and_docs_are_served(client):
    spec = client.get("/api/openapi.json")
    assert spec.status_code == 200
    assert "/api/v1/auth/token" in spec.json["paths"]
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    assert "/api/docs/static/swagger-ui-bundle.js" in docs.get_data(as_text=True)
    with client.get("/api/docs/static/swagger-ui-bundle.js") as bundle:
        assert bundle.status_code == 200


def test_a_database_that_stays_busy_is_a_503_with_retry_after(crashing_app):
    r = crashing_app.test_client().get("/api/v1/busy")
    assert_problem(r, 503)
    assert r.headers["Retry-After"] == "2"
    assert "locked" not in r.get_data(as_text=True)
