"""The journeys of SCENARIOS.md on `make run`'s demo, with everything live: the Procfile's
web app, worker and mail sink under honcho (scripts/run-demo.sh), the demo region from
`seed-demo`, and a real Web Push service (web-push-testing) holding Ola's and Kari's phones.

Nothing is arranged behind the demo's back: the people are the demo's (Kari, Ola on call
tonight, Siv, Kristin, Per at the acute ward, Lise the privacy officer), they sign in with the
demo's printed logins (password and TOTP), and every step goes through the HTTP API, as the
apps do. The browser tests walk the same screens (test_portal_queue, test_portal_meeting,
test_push_notifications); this test shows the processes of `make run` carry them together.

The test runs at whatever hour it is run. At night and at weekends a request goes to Ola on
the demo's rota and the next morning's hand-over holds it; in office hours it goes to Kari's
trusted contact (Siv) and no hand-over holds it. Both are asserted, whichever applies.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pyotp
import pytest
import requests

from tests.push_service import PushService
from tests.reliability.live import ROOT, environment, free_port, kill_group, run_cli

pytestmark = [pytest.mark.reliability]

PUSH_WITHIN = 10.0  # seconds: the relay wakes at once; a generous margin for a busy machine
PRIVATE = ["får ikke sove", "stemmene", "Kari", "+4700000100", "+4791234567"]


class Demo:
    """scripts/run-demo.sh on free ports with its own instance directory."""

    def __init__(self, env: dict, tmp_path: Path):
        self.port, self.smtp_port = free_port(), free_port()
        self.env = {**env, "MULI_DEMO_PORT": str(self.port), "MULI_DEMO_SMTP_PORT": str(self.smtp_port)}
        self.env.pop("PORT", None)
        self.log = tmp_path / "honcho.log"
        self.mail = tmp_path / "mail"
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Demo:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [str(ROOT / "scripts" / "run-demo.sh")],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                if requests.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return self
            assert self.proc.poll() is None, self.output()
            time.sleep(0.2)
        raise AssertionError(f"the demo did not come up:\n{self.output()}")

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)  # Ctrl-C, as at a terminal
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                kill_group(self.proc)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


class Person:
    """One of the demo's people, signed in through the API with the printed login."""

    def __init__(self, demo: Demo, login: dict):
        body = {"username": login["username"], "password": login["password"]}
        if login.get("totp_secret"):
            body["totp"] = pyotp.TOTP(login["totp_secret"]).now()
        answer = requests.post(demo.url + "/api/v1/auth/token", json=body, timeout=30)
        assert answer.status_code == 200, answer.text
        self.url = demo.url
        self.headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}

    def call(self, method: str, path: str, expect: int = 200, **kwargs) -> dict:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        answer = requests.request(method, self.url + "/api/v1" + path, headers=headers, timeout=30, **kwargs)
        assert answer.status_code == expect, f"{method} {path}: {answer.status_code} {answer.text}"
        return answer.json() if answer.content else {}

    def get(self, path: str, **kwargs) -> dict:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, body: dict | None = None, expect: int = 200, **kwargs) -> dict:
        return self.call("POST", path, expect, json=body or {}, **kwargs)

    def put(self, path: str, body: dict, **kwargs) -> dict:
        return self.call("PUT", path, json=body, **kwargs)


def phone(person: Person, service: PushService, path: str, key: str) -> str:
    """A phone with notifications on: subscribed at the push service, registered with MULI."""
    sub = service.subscribe(key)
    person.post(path, {"endpoint": sub["endpoint"], "keys": sub["keys"], "label": "telefon"}, expect=201)
    return sub["clientHash"]


def pushed(service: PushService, client_hash: str, count: int) -> list[dict]:
    return [json.loads(m) for m in service.wait_for(client_hash, count, timeout=PUSH_WITHIN)]


def test_the_four_journeys_on_the_make_run_demo_with_worker_push_and_mail_sink(app, tmp_path):
    env = environment(app, tmp_path, MULI_VAPID_PRIVATE_KEY=app.extensions["muli.vapid"].private_key)
    seeded = run_cli(env, "seed-demo", "--json")
    out, _ = seeded.communicate(timeout=120)
    assert seeded.returncode == 0, out.decode(errors="replace")
    logins = json.loads(out.decode()[out.decode().index("{") :])
    staff = {s["username"]: s for s in logins["staff"]}
    [kari_login] = logins["patients"]
    team_id = logins["team_id"]

    with PushService() as service, Demo(env, tmp_path) as demo:
        ola, siv, kari = (Person(demo, login) for login in (staff["ola"], staff["siv"], kari_login))
        vapid = kari.get("/me/push-subscriptions")["public_key"]  # as the app asks for it
        phones = {
            who: phone(p, service, "/staff/push-subscriptions", vapid)
            for who, p in (("ola", ola), ("siv", siv))
        }
        kari_phone = phone(kari, service, "/me/push-subscriptions", vapid)

        # 1. Saturday, 01:40 — Kari reaches out; the screen says who is on call.
        me = kari.get("/me")
        asked_at = time.monotonic()
        request = kari.post(
            "/me/contact-requests",
            {
                "kind": "call_me",
                "urgency": "talk",
                "message": "får ikke sove, stemmene er sterke",
                "callback_phone": "+4791234567",
            },
            expect=201,
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        # 2. The on-call nurse's phone buzzes within seconds: no name, no health text; a tap
        # opens the request. At night (and at weekends) that is Ola, on the demo's rota; in
        # office hours (the test runs at any hour) it is Kari's trusted contact, Siv.
        if request["routed_to"] == "on_call":
            assert request["responder"]["name"] == "Ola Vakt", request
            nurse, other = ola, "siv"
        else:
            assert request["routed_to"] == "office", request
            nurse, other = siv, "ola"
        [alert] = pushed(service, phones["siv" if nurse is siv else "ola"], 1)
        took = time.monotonic() - asked_at
        assert service.messages(phones[other]) == []  # only the person it is routed to
        assert alert["kind"] == "request" and request["id"] in alert["url"]
        assert not [w for w in PRIVATE if w.lower() in json.dumps(alert, ensure_ascii=False).lower()]
        seen = nurse.get(f"/staff/contact-requests/{request['id']}")
        assert seen["callback_phone"] == "+4791234567"
        nurse.post(f"/staff/contact-requests/{request['id']}/acknowledge")
        nurse.post(f"/staff/contact-requests/{request['id']}/call")
        nurse.post(
            f"/staff/contact-requests/{request['id']}/close",
            {"outcome": "talked", "note": "snakket, avtalt ny kontakt i morgen"},
        )
        # Kari's phone, app closed: seen (by whom), calling, closed.
        kinds = [p["kind"] for p in pushed(service, kari_phone, 2)]
        assert kinds[0] == "seen", kinds
        for p in pushed(service, kari_phone, len(service.messages(kari_phone))):
            assert not [w for w in PRIVATE if w.lower() in json.dumps(p, ensure_ascii=False).lower()]

        # 3. Monday — Siv's morning hand-over has Kari's night; the weekly meeting puts her first.
        kristin = Person(demo, staff["kristin"])
        # The hand-over of the morning after the request's night holds it (with the outcome and
        # the note); a request answered in office hours is in no hand-over.
        days = [time.strftime("%Y-%m-%d", time.localtime(time.time() + d * 86400)) for d in range(-1, 4)]
        windows = [siv.get(f"/staff/teams/{team_id}/handover", params={"date": day}) for day in days]
        holding = [
            w for w in windows if w["since"] <= request["created_at"].replace("+00:00", "Z") < w["until"]
        ]
        assert len(holding) == (1 if request["routed_to"] == "on_call" else 0), (request, windows)
        for window in holding:
            text = json.dumps(window, ensure_ascii=False)
            assert request["id"] in text and "snakket, avtalt ny kontakt i morgen" in text, text
        meeting = kristin.post(
            f"/staff/teams/{team_id}/meetings", {"held_on": time.strftime("%Y-%m-%d")}, 201
        )
        agenda = siv.get(f"/staff/meetings/{meeting['id']}")["agenda"]
        assert agenda[0]["patient_id"] == me["id"]
        assert "psykiater" in json.dumps(agenda, ensure_ascii=False)  # last week's open action
        note = f"/staff/meetings/{meeting['id']}/notes/{me['id']}"
        etag = requests.get(demo.url + "/api/v1" + note, headers=siv.headers, timeout=10).headers["ETag"]
        siv.put(note, {"text": "Kari hadde en tung natt; Ola ringte."}, headers={"If-Match": etag})
        agencies = {a["agency_name"]: a["agency_id"] for a in kari.get("/me/consents")["consents"]}
        for description, agency, system in (
            ("DPS: time hos psykiater innen fredag", "Fjordvik DPS", False),
            ("Kommunen: hjemmebesøk torsdag", "Fjordvik kommune", False),
            ("Ambulanse og politi: motstridende rutiner", "Fjordvik kommune", True),
        ):
            kristin.post(
                f"/staff/meetings/{meeting['id']}/actions",
                {
                    "patient_id": me["id"],
                    "description": description,
                    "responsible_agency_id": agencies[agency],
                    "due_on": time.strftime("%Y-%m-%d", time.localtime(time.time() + 4 * 86400)),
                    "system_issue": system,
                },
                201,
            )
        kristin.post(f"/staff/meetings/{meeting['id']}/sign")
        issues = kristin.get(f"/staff/teams/{team_id}/system-issues")
        assert "motstridende" in json.dumps(issues, ensure_ascii=False)

        # 4. Three weeks later — Kari decides. Before that, one emergency access: Pia (police
        # liaison, no consent from Kari) breaks the glass to read the crisis plan, with a reason.
        pia = Person(demo, staff["pia"])
        pia.call("GET", f"/staff/patients/{me['id']}/crisis-plan", expect=403)
        reason = "Politiet møtte Kari ved brua i natt; trenger kriseplanen"
        glass = pia.post(f"/staff/patients/{me['id']}/emergency-access", {"reason": reason}, 201)
        pia.get(f"/staff/patients/{me['id']}/crisis-plan")
        # Kari sees every read, by name and agency, the emergency access with its reason.
        log = json.dumps(kari.get("/me/access-log"), ensure_ascii=False)
        for who in (("Ola Vakt" if nurse is ola else "Siv Sykepleier"), "Pia Politikontakt", reason):
            assert who in log, who
        # She withdraws the acute ward's access to her diary and keeps the plan shared with them.
        ward = agencies["Psykiatrisk akuttmottak (PAM)"]
        kari.put(
            "/me/consents", {"consents": [{"agency_id": ward, "scope": "shared_diary", "state": "withdrawn"}]}
        )
        per = Person(demo, staff["per"])
        per.get(f"/staff/patients/{me['id']}/crisis-plan")
        per.call("GET", f"/staff/patients/{me['id']}/diary", expect=403)
        # The privacy officer sees the emergency access in the review queue and signs it off.
        lise = Person(demo, staff["lise"])
        # The demo's own (Pia, two nights ago, for Sunniva) waits there too.
        queue = lise.get("/staff/audit/emergency-access")["items"]
        seeded = [(i["staff_name"], i["patient_display_name"]) for i in queue if i["id"] != glass["id"]]
        assert [(i["id"], i["reason"]) for i in queue if i["id"] == glass["id"]] == [(glass["id"], reason)]
        assert seeded == [("Pia Politikontakt", "Sunniva")], queue
        [mine] = [i for i in queue if i["id"] == glass["id"]]
        assert mine["scopes"] == ["crisis_plan"]  # break-the-glass opened what was asked, no more
        signed = lise.post(
            f"/staff/audit/emergency-access/{glass['id']}/review",
            {"verdict": "justified", "comment": "Politiet bekreftet situasjonen ved brua"},
        )
        assert signed["verdict"] == "justified"
        assert [i["id"] for i in lise.get("/staff/audit/emergency-access")["items"]] == [
            i["id"] for i in queue if i["id"] != glass["id"]
        ]
        assert lise.get("/staff/audit", params={"patient_id": me["id"]})["items"]
        # The quarterly review: every figure with its definition; the sources' headline.
        outcomes = kristin.get(f"/staff/teams/{team_id}/outcomes")
        indicators = [i for heading in outcomes["headings"] for i in heading["indicators"]]
        keys = {i["key"] for i in indicators}
        assert {"acute_admissions", "bed_days", "involuntary_admissions"} <= keys, keys
        for indicator in indicators:
            assert indicator["definition"]["nb"] and indicator["definition"]["en"], indicator
        headline = outcomes["headline"]
        assert (headline["admissions_fell"]["value"], headline["patients_compared"]["value"]) == (5, 6)

        mails = sorted(demo.mail.glob("*.eml"))
    print(
        f"\njourneys on make run's demo ({request['routed_to']}): tap -> nurse's push {took:.2f} s; "
        f"Kari's phone: {kinds}; {len(mails)} emails"
    )
