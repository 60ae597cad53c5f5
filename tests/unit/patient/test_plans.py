"""The plans service, without HTTP: versions, the compare-and-set edit, the responder summary."""

from __future__ import annotations

import pytest

from muli.models.people import Patient
from muli.patient import plans
from muli.platform.errors import PreconditionFailed, PreconditionRequired, ValidationFailed
from muli.trust import accounts


@pytest.fixture
def kari(world, ctx):
    care = world.care_team()
    account = ctx.session.get(accounts.Account, care.patient.account.id)
    return ctx.acting_as(accounts.actor_for(ctx, account))


def _patient(ctx):
    return ctx.session.get(Patient, ctx.actor.patient_id)


def test_responder_summary_is_none_without_a_plan(kari):
    assert plans.responder_summary(kari, _patient(kari)) is None


def test_responder_summary_gives_the_four_sections_for_responders(kari):
    plans.save_my_crisis_plan(
        kari,
        {
            "how_i_want_to_be_met": "Snakk rolig.",
            "what_helps": "En tur",
            "warning_signs": [{"sign": "Søvnløs"}],
        },
        plans.crisis_etag(0),
    )
    assert plans.responder_summary(kari, _patient(kari)) == {
        "how_i_want_to_be_met": "Snakk rolig.",
        "what_helps": "En tur",
        "what_does_not_help": None,
        "treatment_preferences": None,
    }


def test_a_patient_without_a_plan_gets_an_empty_version_zero(kari):
    doc = plans.my_crisis_plan(kari)
    assert (doc.body["version"], doc.body["warning_signs"]) == (0, [])
    # The answer's ETag: the version, and a digest of the team's numbers and the programme.
    assert plans.crisis_plan_tag(doc.etag) == plans.crisis_etag(0) != doc.etag


def test_saving_without_if_match_is_refused_as_precondition_required(kari):
    with pytest.raises(PreconditionRequired):
        plans.save_my_crisis_plan(kari, {}, None)


def test_saving_against_a_stale_etag_fails_the_precondition(kari):
    plans.save_my_crisis_plan(kari, {"what_helps": "a"}, plans.crisis_etag(0))
    with pytest.raises(PreconditionFailed):
        plans.save_my_crisis_plan(kari, {"what_helps": "b"}, plans.crisis_etag(0))


def test_an_unknown_section_is_refused_naming_it(kari):
    with pytest.raises(ValidationFailed) as error:
        plans.save_my_crisis_plan(kari, {"horoscope": "x"}, plans.crisis_etag(0))
    assert error.value.errors == {"horoscope": ["Not a section of the crisis plan."]}
