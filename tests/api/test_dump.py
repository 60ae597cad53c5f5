"""api/dump.py: a compiled dumper answers what the schema's own dump answers."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from marshmallow import Schema, fields, post_dump

from api.contact_schemas import ContactQueueItemOut, CreatedRequestOut
from api.dump import dumper
from api.resources.me_diary import EntryOut
from api.resources.me_plans import CrisisPlanOut
from api.schemas import Instant, page_of

OSLO = timezone(timedelta(hours=1))
AT = datetime(2026, 11, 20, 9, 3, 7, 120, tzinfo=OSLO)


def person(name="Siv"):
    return {"id": uuid.uuid4(), "name": name, "agency": "Fjordvik kommune"}


def queue_item(**changes):
    item = {
        "id": uuid.uuid4(),
        "kind": "call_me",
        "urgency": "talk",
        "state": "open",
        "routed_to": "on_call",
        "responder": person(),
        "acknowledge_within_minutes": 10,
        "created_at": AT,
        "waiting_minutes": 7,
        "acknowledged_by": None,
        "acknowledged_at": None,
        "closed_at": None,
        "cancelled_at": None,
        "outcome": None,
        "call_started_at": AT.astimezone(UTC),
        "call_started_by": person("Ola"),
        "escalation": {
            "level": 2,
            "label": "whole_team",
            "escalated_at": AT,
            "next_at": None,
            "advice": "Ring",
        },
        "patient": {"id": uuid.uuid4(), "display_name": "Kari", "not_in_schema": 1},
        "callback_phone": "+4791234567",
        "patient_phone": None,
        "call_back_on": "+4791234567",
        "emergency_numbers": [{"number": "113"}],  # not in this schema: left out by both
    }
    item.update(changes)
    return item


CASES = [
    (
        page_of(ContactQueueItemOut),
        {"items": [queue_item(), queue_item(responder=None)], "next_cursor": "abc"},
    ),
    (page_of(ContactQueueItemOut), {"items": [], "next_cursor": None}),
    (page_of(ContactQueueItemOut), {"items": [queue_item(waiting_minutes=True, kind=5)]}),  # odd types
    (ContactQueueItemOut, {"id": uuid.uuid4()}),  # keys the object lacks are left out
    (CreatedRequestOut, {**queue_item(), "messages": [], "message_altered": False}),
    (
        CreatedRequestOut,
        {
            **queue_item(),
            "messages": [
                {"id": uuid.uuid4(), "author": "patient", "name": None, "body": "hei", "created_at": AT}
            ],
            "emergency_numbers": [{"number": "113", "label": "AMK", "kind": "emergency", "x": 1}],
            "message_altered": True,
        },
    ),
    (
        EntryOut,
        SimpleNamespace(
            id=uuid.uuid4(),
            text="t",
            mood=None,
            sleep_hours=6,
            tags=["a", "b"],
            shared_with_team=0,
            created_at=AT,
            updated_at=None,
        ),
    ),
    (
        EntryOut,
        {"id": "not-a-uuid-object", "mood": 5.0, "sleep_hours": 6.5, "tags": None, "shared_with_team": "no"},
    ),
    (
        CrisisPlanOut,
        {
            "warning_signs": [{"sign": "s", "action": None}, {"sign": "t"}, "a text item"],
            "coping_strategies": ["Pust"],
            "people_to_ask": [{"name": "Bror", "phone": "+47", "extra": 1}],
            "professionals": [],
            "what_helps": "Rolig",
            "extra": {"police_contact": None, "risk_situations": ["x"]},
            "version": 3,
            "last_reviewed_with_team_on": date(2026, 11, 1),
            "updated_at": AT,
            "written_by": {"kind": "staff", "name": "Siv", "agency": None},
            "emergency_numbers": [{"number": "113", "label": "AMK", "kind": "emergency"}],
            "sections_meta": [
                {
                    "key": "k",
                    "title": {"nb": "N", "en": "E"},
                    "kind": "list",
                    "required": 1,
                    "hidden": False,
                    "order": 0,
                    "in_extra": True,
                }
            ],
        },
    ),
    (
        CrisisPlanOut,
        {"version": 0, "written_by": None, "updated_at": None, "last_reviewed_with_team_on": None},
    ),
]


@pytest.mark.parametrize(("schema", "obj"), CASES)
def test_the_compiled_dumper_answers_what_the_schema_dumps(schema, obj):
    expected = schema().dump(obj)
    assert dumper(schema)(obj) == expected
    assert list(dumper(schema)(obj)) == list(expected)  # the same keys, in the same order


def test_defaults_data_keys_and_attributes_are_honoured():
    class Odd(Schema):
        a = fields.Integer(dump_default=7)
        b = fields.String(data_key="bee")
        c = fields.UUID(attribute="see")
        d = fields.Float(dump_default=lambda: 1.5)
        e = Instant(allow_none=True)
        f = fields.Dict()
        g = fields.Boolean()

    for obj in (
        {},
        {"b": 1, "see": uuid.uuid4(), "e": AT, "f": {"x": [1]}, "g": "false"},
        SimpleNamespace(b="x"),
    ):
        assert dumper(Odd)(obj) == Odd().dump(obj)


def test_what_it_cannot_compile_is_refused_not_approximated():
    class WithMethod(Schema):
        a = fields.Method("get_a")

        def get_a(self, obj):
            return 1

    class WithHook(Schema):
        a = fields.Integer()

        @post_dump
        def change(self, data, **_):
            return data

    class AsString(Schema):
        a = fields.Integer(as_string=True)

    for schema in (WithMethod, WithHook, AsString):
        with pytest.raises(TypeError):
            dumper(schema)
