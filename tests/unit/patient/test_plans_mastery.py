"""The mastery plan's document rules, without a database: ids, titles, unknown parts."""

from __future__ import annotations

import uuid

import pytest

from muli.patient.mastery import normalise_mastery
from muli.patient.plans import empty_mastery_document
from muli.platform.errors import ValidationFailed

WALK_ID = "6f1c1d9e-1f4e-4c55-9d7e-2f5b8a3c0001"
PREVIOUS = {"strategies": [{"id": WALK_ID, "title": "Gå en tur"}], "goals": []}


def test_a_new_strategy_gets_an_id():
    out = normalise_mastery({"strategies": [{"title": "Ringe Siv"}]}, empty_mastery_document())
    assert uuid.UUID(out["strategies"][0]["id"])


def test_a_kept_strategy_keeps_its_id():
    out = normalise_mastery({"strategies": [{"id": uuid.UUID(WALK_ID), "title": "Gå langt"}]}, PREVIOUS)
    assert out["strategies"][0]["id"] == WALK_ID


def test_a_strategy_listed_twice_is_refused():
    item = {"id": WALK_ID, "title": "x"}
    with pytest.raises(ValidationFailed) as error:
        normalise_mastery({"strategies": [item, item]}, PREVIOUS)
    assert list(error.value.errors) == ["strategies.1.id"]


def test_a_title_of_only_spaces_is_refused():
    with pytest.raises(ValidationFailed) as error:
        normalise_mastery({"goals": [{"title": "   "}]}, empty_mastery_document())
    assert list(error.value.errors) == ["goals.0.title"]


def test_an_unknown_part_of_the_plan_is_refused():
    with pytest.raises(ValidationFailed) as error:
        normalise_mastery({"wishes": []}, empty_mastery_document())
    assert list(error.value.errors) == ["wishes"]


def test_a_goal_is_not_achieved_unless_said():
    out = normalise_mastery({"goals": [{"title": "Sove"}]}, empty_mastery_document())
    assert out["goals"][0]["achieved"] is False
