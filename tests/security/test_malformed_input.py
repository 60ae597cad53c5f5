"""Malformed input at every door: stored faithfully or refused with a 4xx, never a 500.

Found by an attacker's test: valid JSON that is not valid text (`"Hjelp meg \\ud83d"`, what
`JSON.stringify` makes of a message cut mid-emoji; a login name `"\\ud800"`), 100,000 `[`,
a 100,000-digit number all answered 500, and the phone's retry with the same
Idempotency-Key got 500 for ever: the contact request was never stored. A chunked body
over 1 MiB answered 400 instead of 413.

The API's write operations come from its own OpenAPI document, the portal's from the app's
URL map, so a new endpoint is covered without touching this file. Each is called as the
kind of user it is for (a fresh token per call: a refused logout must not end the run).
"""

from __future__ import annotations

import copy
import http.client
import json
import re
import socket
import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from muli.extensions import db
from muli.models.contact import ContactMessage, ContactRequest
from muli.platform.errors import AuthenticationFailed
from tests.factories import bearer
from tests.fhir_support import client_token, integration_client
from tests.portal.conftest import Portal, compile_catalogues, csrf_token
from tests.reliability.live import Server, environment
from tests.security.scene import changed_tables, fingerprint

pytestmark = pytest.mark.security

ROOT = Path(__file__).resolve().parents[2]
PROBLEM = "application/problem+json"
CONTACT = "/api/v1/me/contact-requests"
MIB = 1024 * 1024
# Text no database can hold as sent: half an emoji (either half, alone or inside text), NUL.
BAD_TEXT = ("\ud83d", "Hjelp meg \ud83d", "\ude00 etter", "\x00", "før\x00etter")
# Bytes that are not UTF-8: a stray byte, an overlong "/", an encoded surrogate, a cut sequence.
BAD_BYTES = (b"\xff\xfe", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82")
# Numbers beyond every column: 2^31, 2^63, beyond a double, 5,000 digits.
HUGE_NUMBERS = (b"2147483648", b"9223372036854775808", b"-9223372036854775809", b"1e400", b"9" * 5000)


@pytest.fixture(scope="module", autouse=True)
def _catalogues():
    compile_catalogues()


def dumps(body) -> bytes:
    """JSON as a phone sends it: a lone surrogate as the escape `\\ud83d` (all ASCII)."""
    return json.dumps(body, ensure_ascii=True).encode()


# --- the API, from its OpenAPI document ---------------------------------------------------


class Api:
    def __init__(self, app, client, world):
        self.app, self.client, self.world = app, client, world
        self.care = world.care_team()
        self.officer = world.staff(self.care.team, role="privacy_officer", agency=self.care.agency)
        self.admin = world.staff(self.care.team, role="admin", agency=self.care.agency)
        self.spec = client.get("/api/openapi.json").get_json()
        # A record system's door takes its client's token (it lives 5 minutes: one test's run).
        self.integration = client_token(client, *integration_client(app.test_cli_runner(), self.care.team))
        self.answers: list[tuple[str, str, int, str]] = []

    def login_for(self, path: str):
        if path.startswith("/api/v1/staff/audit"):
            return self.officer
        if path.startswith("/api/v1/admin"):
            return self.admin
        if path.startswith("/api/v1/staff"):
            return self.care.coordinator
        return self.care.patient

    def send(self, method: str, path: str, raw: bytes | None, *, query: str = "", label: str = ""):
        who = (
            self.integration
            if path.startswith("/api/v1/integration/fhir")
            else bearer(self.world.token_for(self.login_for(path).account))
        )
        headers = {
            **who,
            "Idempotency-Key": str(uuid.uuid4()),
            "If-Match": "*",
        }
        if raw is not None:
            headers["Content-Type"] = "application/json"
        response = self.client.open(path + query, method=method.upper(), data=raw, headers=headers)
        self.answers.append((method.upper(), path, response.status_code, label))
        return response

    def resolve(self, schema: dict) -> dict:
        while "$ref" in schema:
            schema = self.spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        return schema

    def sample(self, schema: dict, depth: int = 0):
        """A plausible value of `schema`: enough shape for every field to be there."""
        schema = self.resolve(schema)
        if "enum" in schema:
            return schema["enum"][0]
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            if depth > 4:
                return {}
            return {name: self.sample(prop, depth + 1) for name, prop in schema.get("properties", {}).items()}
        if kind == "array":
            return [self.sample(schema.get("items", {}), depth + 1)]
        if kind == "integer":
            return schema.get("minimum", 1)
        if kind == "number":
            return schema.get("minimum", 1.5)
        if kind == "boolean":
            return False
        return {"date": "2031-02-03", "date-time": "2031-02-03T10:00:00Z", "uuid": str(uuid.uuid4())}.get(
            schema.get("format", ""), "ok"
        )

    def write_operations(self):
        """(method, concrete path, body schema or None) of every write operation."""
        found = []
        for template, item in self.spec["paths"].items():
            for method, operation in item.items():
                if method not in ("post", "put", "patch", "delete"):
                    continue
                path = re.sub(r"\{version\}", "1", template)
                path = re.sub(r"\{[a-z_]+\}", lambda _: str(uuid.uuid4()), path)
                content = operation.get("requestBody", {}).get("content", {})
                found.append((method, path, content.get("application/json", {}).get("schema")))
        return found

    def tolerant(self, schema: dict | None, path: tuple) -> bool:
        """Whether the document says this field's unstorable text is replaced, not refused."""
        if schema is None or len(path) != 1:
            return False
        prop = self.resolve(schema).get("properties", {}).get(path[0], {})
        return prop.get("x-unstorable-text") == "replace"


def leaves(value, path=()):
    """(path, value) of every scalar in a JSON value."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield from leaves(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from leaves(child, (*path, index))
    else:
        yield path, value


def replaced(value, path, new):
    copied = copy.deepcopy(value)
    if not path:
        return new
    node = copied
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = new
    return copied


def dotted(path) -> str:
    return ".".join(str(p) for p in path)


def assert_refused(response, status: int | tuple, what: str) -> dict:
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, (what, response.status_code, response.get_data()[:300])
    assert response.content_type == PROBLEM, what
    return response.get_json()


def test_every_write_operation_refuses_unstorable_text_in_every_field_with_422_naming_it(app, client, world):
    api = Api(app, client, world)
    operations = api.write_operations()
    assert len(operations) >= 25, "the OpenAPI document lost its write operations"
    before = fingerprint(app)
    fields_tried = 0
    for method, path, schema in operations:
        body = api.sample(schema) if schema else {"note": "ok"}
        for leaf, value in leaves(body):
            if not isinstance(value, str) or api.tolerant(schema, leaf):
                continue
            fields_tried += 1
            for bad in BAD_TEXT:
                what = f"{method} {path} {dotted(leaf)}={bad!r}"
                response = api.send(method, path, dumps(replaced(body, leaf, bad)), label=what)
                problem = assert_refused(response, 422, what)
                if schema:  # a body where none belongs: "This request takes no body."
                    assert dotted(leaf) in problem["errors"], (what, problem)
        # Half a character in a field's name, too.
        response = api.send(method, path, dumps({**(body if isinstance(body, dict) else {}), "\ud800": "x"}))
        assert_refused(response, 422, f"{method} {path} key")
    assert fields_tried >= 60, fields_tried
    assert not changed_tables(before, fingerprint(app))
    assert not [a for a in api.answers if a[2] >= 500]


def test_every_write_operation_refuses_bodies_that_are_not_json_it_can_read(app, client, world):
    """Invalid UTF-8, too deep, numbers too long, NaN: 400 with a `type` saying which."""
    api = Api(app, client, world)
    before = fingerprint(app)
    for method, path, schema in api.write_operations():
        body = api.sample(schema) if schema else {"note": "ok"}
        cases = {
            "deep": (b"[" * 100_000, "json-too-deep"),
            "deep but closed": (b'{"a": ' + b"[" * 40 + b"]" * 40 + b"}", "json-too-deep"),
            "100,000 digits": (b'{"a": ' + b"7" * 100_000 + b"}", "number-too-large"),
            "1e400": (b'{"a": 1e400}', "number-too-large"),
            "NaN": (b'{"a": NaN}', "invalid-json"),
            "cut": (b'{"a": "b', "invalid-json"),
            "BOM": (b"\xef\xbb\xbf" + dumps(body), "invalid-json"),
        }
        marker = "\u2603"  # a snowman, swapped for the raw bytes below
        strings = [leaf for leaf, value in leaves(body) if isinstance(value, str)] or [("note",)]
        for bad in BAD_BYTES:
            for leaf in strings:
                raw = dumps(replaced(body, leaf, f"a{marker}b")).replace(b"\\u2603", bad)
                cases[f"{dotted(leaf)} bytes {bad!r}"] = (raw, "invalid-utf8")
        for label, (raw, code) in cases.items():
            what = f"{method} {path} {label}"
            problem = assert_refused(api.send(method, path, raw, label=what), 400, what)
            assert problem["type"].endswith("/" + code), (what, problem)
        for query in ("?limit=%ff", "?cursor=%00", "?x=%C0%AF"):
            what = f"{method} {path}{query}"
            assert_refused(api.send(method, path, dumps(body), query=query, label=what), 400, what)
    assert not changed_tables(before, fingerprint(app))
    assert not [a for a in api.answers if a[2] >= 500]


def test_the_limits_are_where_the_problem_says(client, world):
    """32 levels and 100-character numbers still parse (and reach validation); one more does not."""
    care = world.care_team()

    def send(raw: bytes):
        return client.post(
            "/api/v1/me/diary", headers=care.patient.headers, data=raw, content_type="application/json"
        )

    def nested(depth: int) -> bytes:  # the body's object is the first level
        return b'{"text": "i dag", "x": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"

    def number(chars: int) -> bytes:
        return b'{"text": "i dag", "mood": ' + b"1" * chars + b"}"

    assert send(nested(32)).get_json()["errors"] == {"x": ["Unknown field."]}
    assert send(nested(33)).get_json()["type"].endswith("/json-too-deep")
    assert send(number(100)).get_json()["errors"] == {
        "mood": ["Must be greater than or equal to 0 and less than or equal to 10."]
    }
    assert send(number(101)).get_json()["type"].endswith("/number-too-large")
    assert send(b'{"text": "i dag", "sleep_hours": 1e308}').status_code == 422
    assert send(b'{"text": "i dag", "sleep_hours": 1e309}').get_json()["type"].endswith("/number-too-large")


def test_huge_numbers_in_every_numeric_field_and_path_never_get_a_server_error(app, client, world):
    api = Api(app, client, world)
    numeric = 0
    for method, path, schema in api.write_operations():
        if not schema:
            continue
        body = api.sample(schema)
        marker = "\u2603"
        for leaf, value in leaves(body):
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            numeric += 1
            for number in HUGE_NUMBERS:
                raw = dumps(replaced(body, leaf, marker)).replace(b'"\\u2603"', number)
                response = api.send(method, path, raw, label=f"{dotted(leaf)}={number[:20]!r}")
                assert response.status_code < 500, (method, path, leaf, number[:20], response.get_json())
    assert numeric >= 3
    for number in ("2147483648", "99999999999999999999"):
        for action in ("approve", "decline"):
            response = api.send("post", f"/api/v1/me/crisis-plan/versions/{number}/{action}", None)
            assert 400 <= response.status_code < 500, (number, action, response.status_code)
    for query in ("?limit=99999999999999999999", "?limit=" + "9" * 5000, "?cursor=" + "\u00e6" * 600):
        response = api.send("get", "/api/v1/me/diary", None, query=query)
        assert response.status_code == 422, (query[:30], response.get_json())
    assert not [a for a in api.answers if a[2] >= 500]


def test_a_login_name_or_password_with_half_a_character_is_422_naming_the_field(client):
    for field in ("username", "password"):
        body = {"username": "kari", "password": "x" * 12, field: "\ud800"}
        response = client.post("/api/v1/auth/token", data=dumps(body), content_type="application/json")
        assert list(assert_refused(response, 422, field)["errors"]) == [field]


def test_text_that_can_be_stored_is_stored_as_sent(client, world):
    care = world.care_team()
    text = "Ærlig talt 😀 — ikke bra i dag ​ \U0001f9e1 \\ud83d"  # the last is six ASCII characters
    r = client.post(
        "/api/v1/me/diary", headers=care.patient.headers, json={"text": text, "tags": ["søvn 😴"]}
    )
    assert r.status_code == 201, r.get_json()
    entry = client.get(f"/api/v1/me/diary/{r.get_json()['id']}", headers=care.patient.headers).get_json()
    assert (entry["text"], entry["tags"]) == (text, ["søvn 😴"])


# --- the contact request: the request matters more than its text --------------------------


def _contact_rows(app, patient_id) -> tuple[int, list[str]]:
    from muli.cli import system_ctx

    with app.app_context():
        ctx = system_ctx()
        count = db.session.scalar(
            select(func.count()).select_from(ContactRequest).where(ContactRequest.patient_id == patient_id)
        )
        rows = db.session.scalars(
            select(ContactMessage).join(ContactRequest).where(ContactRequest.patient_id == patient_id)
        )
        bodies = [ctx.keys.open(m, "body") for m in rows]
        db.session.remove()
    return count, bodies


@pytest.mark.parametrize(
    "sent, stored",
    [
        ("Hjelp meg \ud83d", "Hjelp meg \ufffd"),
        ("\ude00 Hjelp \ud83d\ud83d meg", "\ufffd Hjelp \ufffd\ufffd meg"),
        ("Hjelp\x00meg", "Hjelp\ufffdmeg"),
    ],
)
def test_a_message_that_cannot_be_stored_as_sent_is_stored_once_with_replacement_characters(
    app, client, world, sent, stored
):
    care = world.care_team()
    headers = {
        **care.patient.headers,
        "Idempotency-Key": str(uuid.uuid4()),
        "Content-Type": "application/json",
    }
    raw = dumps({"kind": "call_me", "urgency": "crisis", "message": sent})
    first = client.post(CONTACT, data=raw, headers=headers)
    assert first.status_code == 201, first.get_json()
    answer = first.get_json()
    assert answer["message_altered"] is True
    assert [m["body"] for m in answer["messages"]] == [stored]
    retry = client.post(CONTACT, data=raw, headers=headers)
    assert retry.status_code == 201
    assert retry.headers.get("Idempotent-Replayed") == "true"
    assert retry.get_json() == answer
    assert _contact_rows(app, care.patient.id) == (1, [stored])
    listed = client.get(CONTACT, headers=care.patient.headers).get_json()["items"]
    assert [(r["id"], r["messages"][0]["body"]) for r in listed] == [(answer["id"], stored)]


def test_a_message_that_can_be_stored_is_not_altered(app, client, world):
    care = world.care_team()
    headers = {**care.patient.headers, "Idempotency-Key": str(uuid.uuid4())}
    r = client.post(
        CONTACT, headers=headers, json={"kind": "chat", "urgency": "talk", "message": "Hjelp meg 😀"}
    )
    assert r.status_code == 201
    assert r.get_json()["message_altered"] is False
    assert _contact_rows(app, care.patient.id) == (1, ["Hjelp meg 😀"])


def test_other_fields_of_a_contact_request_and_follow_up_messages_refuse_half_a_character(app, client, world):
    care = world.care_team()
    h = {**care.patient.headers, "Content-Type": "application/json"}
    for field in ("callback_phone", "kind", "urgency"):
        body = {"kind": "call_me", "urgency": "talk", "message": "hei", field: "+47\ud83d"}
        r = client.post(CONTACT, data=dumps(body), headers={**h, "Idempotency-Key": str(uuid.uuid4())})
        assert list(assert_refused(r, 422, field)["errors"]) == [field]
    created = client.post(
        CONTACT,
        headers={**h, "Idempotency-Key": str(uuid.uuid4())},
        data=dumps({"kind": "chat", "urgency": "talk"}),
    )
    r = client.post(
        f"{CONTACT}/{created.get_json()['id']}/messages", data=dumps({"body": "ok \ud83d"}), headers=h
    )
    assert assert_refused(r, 422, "body")["errors"].keys() == {"body"}


def test_the_openapi_document_says_which_field_replaces_and_that_the_answer_tells(client):
    spec = client.get("/api/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    assert schemas["ContactRequestIn"]["properties"]["message"]["x-unstorable-text"] == "replace"
    created = spec["paths"]["/api/v1/me/contact-requests"]["post"]["responses"]["201"]
    ref = created["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert schemas[ref]["properties"]["message_altered"]["type"] == "boolean"
    assert "message_altered" in schemas[ref]["required"]


def test_a_refused_or_failed_request_does_not_spend_its_idempotency_key(app, client, world, monkeypatch):
    care = world.care_team()
    key = str(uuid.uuid4())
    h = {**care.patient.headers, "Idempotency-Key": key, "Content-Type": "application/json"}
    good = {"kind": "call_me", "urgency": "crisis", "message": "ring meg", "callback_phone": "+4791234567"}
    refused = [
        (b"[" * 100_000, 400),
        (b'{"kind": "call_me", "urgency": "crisis", "message": "\xff"}', 400),
        (dumps({**good, "callback_phone": "+47 \ud83d"}), 422),
        (dumps({**good, "callback_phone": "not a phone"}), 422),
        (b'{"kind": "call_me", "message": "' + b"x" * MIB + b'"}', 413),
    ]
    for raw, status in refused:
        assert_refused(client.post(CONTACT, data=raw, headers=h), status, raw[:40])
    # A failure after the key was claimed whose handler keeps its changes (a 401 keeps the
    # audit of it): the claim must go, or every retry would be "still being processed" (409).
    from muli.contact import requests as contact_requests

    def failing(*args, **kwargs):
        raise AuthenticationFailed("The account is not in use.")

    real = contact_requests.create
    monkeypatch.setattr(contact_requests, "create", failing)
    assert_refused(client.post(CONTACT, data=dumps(good), headers=h), 401, "failed")
    monkeypatch.setattr(contact_requests, "create", real)
    first = client.post(CONTACT, data=dumps(good), headers=h)
    assert first.status_code == 201, first.get_json()
    again = client.post(CONTACT, data=dumps(good), headers=h)
    assert (again.status_code, again.headers.get("Idempotent-Replayed")) == (201, "true")
    assert again.get_json()["id"] == first.get_json()["id"]
    assert _contact_rows(app, care.patient.id) == (1, ["ring meg"])


# --- the portal, from the app's URL map ---------------------------------------------------


def _portal_field_names() -> list[str]:
    """Every form field the portal's templates, views and WTForms classes name."""
    names = set()
    for template in (ROOT / "staff_portal" / "templates").rglob("*.html"):
        names |= set(re.findall(r'name="([A-Za-z_][\w-]*)"', template.read_text()))
    for module in (ROOT / "staff_portal").rglob("*.py"):
        source = module.read_text()
        names |= set(re.findall(r'form\.get(?:list)?\("([\w-]+)"', source))
        names |= set(re.findall(r"^\s+(\w+) = \w+Field\(", source, re.M))
    return sorted(names - {"csrf_token"})


def _portal_post_routes(app) -> list[str]:
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/portal") or "POST" not in (rule.methods or ()):
            continue
        path = rule.rule.replace("<code>", "nb")
        routes.append(re.sub(r"<(?:[a-z]+:)?[a-z_]+>", lambda _: str(uuid.uuid4()), path))
    return sorted(routes)


def test_every_portal_form_refuses_text_that_is_not_utf8_or_holds_nul_with_an_error_page(app, client, world):
    care = world.care_team()
    portal = Portal(app, client)
    assert portal.login(care.coordinator).status_code == 302
    token = csrf_token(portal.text("/portal/"))
    routes = _portal_post_routes(app)
    assert len(routes) >= 20, routes
    names = _portal_field_names()
    assert len(names) >= 20, names
    before = fingerprint(app)
    statuses = []

    def post(route, raw: bytes, content_type="application/x-www-form-urlencoded", query=""):
        r = client.post(route + query, data=raw, headers={"Content-Type": content_type})
        statuses.append(r.status_code)
        return r

    def form(value: bytes, only: str | None = None) -> bytes:
        fields = [only] if only else names
        return b"csrf_token=" + token.encode() + b"".join(b"&" + n.encode() + b"=" + value for n in fields)

    for route in routes:
        # In each field alone: half a character (a UTF-8-encoded surrogate) and NUL.
        for name in names:
            for value in (b"%ED%A0%BD", b"a%00b"):
                r = post(route, form(value, name))
                assert r.status_code == 400 and r.mimetype == "text/html", (route, name, value, r.status_code)
        # Every other kind of bad byte, in every field at once, raw or percent-encoded; and in a name.
        for value in (b"%FF", b"\xff", b"%C0%AF", b"%E2%82", b"\x00", b"\xed\xa0\x80"):
            r = post(route, form(value))
            assert r.status_code == 400, (route, value, r.status_code)
            assert "UTF-8" in r.get_data(as_text=True) or "NUL" in r.get_data(as_text=True)
        assert post(route, form(b"x") + b"&%FF=1").status_code == 400
        assert post(route, form(b"x"), query="?lang=%FF").status_code == 400
        assert post(route, form(b"x"), query="?next=%00").status_code == 400
        multipart = b'--b\r\nContent-Disposition: form-data; name="text"\r\n\r\n\xff\r\n--b--\r\n'
        assert post(route, multipart, "multipart/form-data; boundary=b").status_code == 415
        assert post(route, b"csrf_token=" + token.encode() + b"&text=" + b"x" * MIB).status_code == 413
    assert not changed_tables(before, fingerprint(app))
    assert max(statuses) < 500


def test_a_portal_form_with_text_that_can_be_stored_still_goes_through(app, client, world):
    care = world.care_team()
    portal = Portal(app, client)
    assert portal.login(care.member).status_code == 302
    page = f"/portal/patients/{care.patient.id}"
    r = portal.post(f"{page}/emergency-access", {"reason": "ingen svarer, 😀 æøå"}, token_from=page)
    assert r.status_code == 302, r.get_data(as_text=True)[:300]


# --- chunked bodies over the limit, through a real server ---------------------------------


def _chunked_post(port: int, path: str, headers: dict, body: bytes, chunk: int = 64 * 1024):
    """POST `body` with Transfer-Encoding: chunked on a real socket; the answer is read while
    the body is still going out (the server may answer before reading it all)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nTransfer-Encoding: chunked\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"

    def send():
        try:
            sock.sendall(head.encode())
            for start in range(0, len(body), chunk):
                piece = body[start : start + chunk]
                sock.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server answered and closed before taking it all

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        sock.close()
        sender.join(timeout=30)


@pytest.fixture
def live_server(app, tmp_path):
    server = Server(environment(app, tmp_path), tmp_path / "gunicorn.log", workers=1, threads=2)
    server.start()
    yield server
    server.kill()


def test_a_chunked_body_over_one_mebibyte_is_413_through_gunicorn_and_a_small_one_is_read(
    app, world, live_server
):
    care = world.care_team()
    json_headers = {**care.patient.headers, "Content-Type": "application/json"}
    small = dumps({"kind": "chat", "urgency": "talk", "message": "Hjelp meg \ud83d"})
    status, kind, raw = _chunked_post(
        live_server.port, CONTACT, {**json_headers, "Idempotency-Key": str(uuid.uuid4())}, small, chunk=7
    )
    assert status == 201, raw[:300]
    assert json.loads(raw)["message_altered"] is True
    for size in (MIB, MIB + 100 * 1024, 3 * MIB):
        big = b'{"kind": "chat", "urgency": "talk", "message": "' + b"x" * size + b'"}'
        status, kind, raw = _chunked_post(
            live_server.port, CONTACT, {**json_headers, "Idempotency-Key": str(uuid.uuid4())}, big
        )
        assert (status, kind) == (413, PROBLEM), (size, status, raw[:300])
        assert json.loads(raw)["type"].endswith("/body-too-large")
    form = b"username=kari&password=" + b"x" * (MIB + 10)
    status, kind, raw = _chunked_post(
        live_server.port, "/portal/login", {"Content-Type": "application/x-www-form-urlencoded"}, form
    )
    assert status == 413 and kind.startswith("text/html"), (status, raw[:300])
    assert _contact_rows(app, care.patient.id)[0] == 1
