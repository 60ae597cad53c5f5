"""A client generated with openapi-python-client from the served `/api/openapi.json` drives
the API over a real socket (issue 16, item 5): a patient's journey and a staff journey,
typed end to end, errors parsed as the documented problem+json.

The client is generated at test time into a temporary directory (never committed), from
the document the server on 127.0.0.1 serves.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pyotp
import pytest
import requests
from werkzeug.serving import WSGIRequestHandler, make_server

from tests.factories import PASSWORD

pytestmark = pytest.mark.slow

GENERATOR = Path(sys.executable).parent / "openapi-python-client"
# No formatter hooks (the client is read by Python, not people); PDFs as the bytes they are.
CONFIG = """\
post_hooks: []
content_type_overrides:
  application/pdf: application/octet-stream
"""
PACKAGE = "muli_generated_client"


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


@pytest.fixture(scope="module")
def server(app):
    """The test app on http://127.0.0.1:<free port>, stopped at the end of the module."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def generated(server, tmp_path_factory):
    """The package openapi-python-client makes of the served document, imported."""
    where = tmp_path_factory.mktemp("client")
    document = requests.get(server + "/api/openapi.json", timeout=10)
    assert document.status_code == 200
    (where / "openapi.json").write_bytes(document.content)
    (where / "config.yaml").write_text(CONFIG)
    run = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(where / "openapi.json"),
            "--meta",
            "none",
            "--config",
            str(where / "config.yaml"),
            "--output-path",
            str(where / PACKAGE),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    # Every operation made it into the client (a warning means a part was left out).
    assert "Warning" not in run.stdout + run.stderr, run.stdout + run.stderr
    sys.path.insert(0, str(where))
    try:
        yield lambda name: importlib.import_module(f"{PACKAGE}.{name}")
    finally:
        sys.path.remove(str(where))
        for module in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[module]


def _log_in(gen, server, username, totp=None):
    client_module, models = gen("client"), gen("models")
    log_in = gen("api.auth.log_in")
    body = models.TokenIn(username=username, password=PASSWORD)
    if totp:
        body.totp = totp
    tokens = log_in.sync(client=client_module.Client(base_url=server), body=body)
    assert isinstance(tokens, models.TokenOut), tokens
    assert tokens.token_type == models.TokenOutTokenType.BEARER
    return client_module.AuthenticatedClient(base_url=server, token=tokens.access_token)


def test_a_patient_journey_through_the_generated_client(app, world, server, generated):
    gen = generated
    models = gen("models")
    care = world.care_team()
    me = _log_in(gen, server, care.patient.account.username)

    # The crisis plan with its ETag; the same ETag back answers 304 without a body.
    get_plan = gen("api.me_plans.get_my_crisis_plan")
    plan = get_plan.sync_detailed(client=me)
    assert plan.status_code == 200
    assert isinstance(plan.parsed, models.CrisisPlanOut)
    etag = plan.headers["ETag"]
    assert get_plan.sync_detailed(client=me, if_none_match=etag).status_code == 304

    # A diary entry, read back.
    entry = gen("api.me_diary.create_my_diary_entry").sync(
        client=me, body=models.EntryIn(text="sov tre timer", sleep_hours=3.0, shared_with_team=True)
    )
    assert isinstance(entry, models.EntryOut), entry
    again = gen("api.me_diary.get_my_diary_entry").sync(client=me, entry_id=entry.id)
    assert again.text == "sov tre timer" and again.sleep_hours == 3.0 and again.mood is None

    # A contact request with an Idempotency-Key made from a UUID; the retry gets the first answer.
    create = gen("api.me_contact.create_my_contact_request")
    body = models.ContactRequestIn(
        kind=models.ContactRequestInKind.CALL_ME, urgency=models.ContactRequestInUrgency.TALK
    )
    key = str(uuid.uuid4())
    first = create.sync_detailed(client=me, body=body, idempotency_key=key)
    assert first.status_code == 201, first.content
    retry = create.sync_detailed(client=me, body=body, idempotency_key=key)
    assert retry.status_code == 201 and retry.headers["Idempotent-Replayed"] == "true"
    assert retry.parsed.id == first.parsed.id
    read = gen("api.me_contact.get_my_contact_request").sync(client=me, request_id=first.parsed.id)
    assert isinstance(read, models.PatientRequestOut)
    assert read.state == models.PatientRequestOutState.OPEN
    assert read.acknowledged_by is None  # a nullable object, typed

    # Errors are the documented problem, parsed: status an integer.
    missing = gen("api.me_contact.get_my_contact_request").sync(client=me, request_id=uuid.uuid4())
    assert isinstance(missing, models.Problem)
    assert missing.status == 404 and missing.type_.endswith("/not-found")

    # The PDF comes back as bytes.
    pdf = gen("api.me_plans.get_my_crisis_plan_pdf").sync_detailed(client=me)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_a_staff_journey_through_the_generated_client(app, world, server, generated):
    gen = generated
    models = gen("models")
    care = world.care_team()
    patient = _log_in(gen, server, care.patient.account.username)
    made = gen("api.me_contact.create_my_contact_request").sync(
        client=patient,
        body=models.ContactRequestIn(
            kind=models.ContactRequestInKind.CALL_ME, urgency=models.ContactRequestInUrgency.CRISIS
        ),
        idempotency_key=str(uuid.uuid4()),
    )
    assert isinstance(made, models.CreatedRequestOut), made

    member = care.member
    staff = _log_in(gen, server, member.account.username, totp=pyotp.TOTP(member.totp_secret).now())

    queue = gen("api.staff_contact.list_contact_queue").sync(client=staff)
    assert isinstance(queue, models.ContactQueueItemPage)
    assert made.id in [item.id for item in queue.items]

    acknowledged = gen("api.staff_contact.acknowledge_contact_request").sync(client=staff, request_id=made.id)
    assert isinstance(acknowledged, models.ContactStaffRequestOut), acknowledged
    assert acknowledged.state == models.ContactStaffRequestOutState.ACKNOWLEDGED
    assert acknowledged.acknowledged_by.name  # the nullable object, now there

    closed = gen("api.staff_contact.close_contact_request").sync(
        client=staff,
        request_id=made.id,
        body=models.ContactCloseIn(outcome=models.ContactCloseInOutcome.TALKED, note="snakket sammen"),
    )
    assert isinstance(closed, models.ContactStaffRequestOut), closed
    assert closed.state == models.ContactStaffRequestOutState.CLOSED

    # Closing twice is the documented 409 problem, not an unexpected status.
    body = models.ContactCloseIn(outcome=models.ContactCloseInOutcome.TALKED)
    twice = gen("api.staff_contact.close_contact_request").sync_detailed(
        client=staff, request_id=made.id, body=body
    )
    assert twice.status_code == 409 and isinstance(twice.parsed, models.Problem)

    # No token: 401 with a Bearer challenge, parsed as the problem.
    anonymous = gen("client").Client(base_url=server)
    refused = gen("api.staff_contact.list_contact_queue").sync_detailed(client=anonymous)
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert isinstance(refused.parsed, models.Problem)
