"""The command line: seed-demo (idempotent, logins that work), create-staff."""

import json

import pyotp
from sqlalchemy import func, select

from muli.extensions import db
from muli.models.accounts import Account
from muli.models.people import Patient


def seed(runner):
    result = runner.invoke(args=["muli", "seed-demo", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output[result.output.index("{") :])


def test_seed_demo_twice_creates_nothing_new(app, runner):
    first = seed(runner)
    with app.app_context():
        accounts = db.session.scalar(select(func.count()).select_from(Account))
        patients = db.session.scalar(select(func.count()).select_from(Patient))
    second = seed(runner)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Account)) == accounts
        assert db.session.scalar(select(func.count()).select_from(Patient)) == patients
    assert first == second


def test_seed_demo_has_every_staff_role(runner):
    roles = {s["role"] for s in seed(runner)["staff"]}
    assert roles == {"member", "coordinator", "privacy_officer", "admin"}


def test_seed_demo_logins_work_with_the_token_endpoint(client, runner):
    demo = seed(runner)
    for person in demo["staff"]:
        body = {"username": person["username"], "password": person["password"],
                "totp": pyotp.TOTP(person["totp_secret"]).now()}  # fmt: skip
        assert client.post("/api/v1/auth/token", json=body).status_code == 200, person["username"]
    patient = demo["patients"][0]
    body = {"username": patient["username"], "password": patient["password"]}
    assert client.post("/api/v1/auth/token", json=body).status_code == 200


def test_create_staff_prints_the_totp_secret_once(app, runner, world):
    team = world.team(name="Testteam")
    result = runner.invoke(
        args=["muli", "create-staff", "--username", "nina", "--name", "Nina N", "--agency", "Ny etat",
              "--agency-kind", "nav", "--role", "member", "--team", "Testteam"],
        input="et langt og trygt passord\net langt og trygt passord\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "TOTP secret" in result.output
    assert team.name == "Testteam"
