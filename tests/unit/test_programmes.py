"""Programme files: MULI's template, what a programme may change in it, and what it may not."""

import copy
import json
from datetime import UTC, datetime

import pytest
import yaml

from muli.patient import plans, programme
from muli.platform.errors import ValidationFailed
from muli.platform.words import english, say

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


def muli_file() -> dict:
    return programme.exported(programme.default())


def refused(raw) -> dict:
    with pytest.raises(ValidationFailed) as caught:
        programme.validate(raw)
    error = caught.value
    # Each field's message as a person reads it (English), its %(name)s values filled in.
    return {field: [english(m, error.params) for m in messages] for field, messages in error.errors.items()}


def keys(definition, plan="crisis_plan"):
    return [s["key"] for s in definition[plan]["sections"]]


def test_muli_template_is_todays_crisis_plan_in_todays_order():
    definition = programme.default()
    assert keys(definition) == ["emergency_numbers", *plans.CRISIS_LIST_SECTIONS, *plans.CRISIS_TEXT_SECTIONS]
    assert not any(s["hidden"] for s in definition["crisis_plan"]["sections"])
    assert programme.added_sections(definition) == []
    assert keys(definition, "mastery_plan") == ["strategies", "goals"]
    assert [i["key"] for i in definition["indicators"]] == list(programme.COMPUTED_INDICATORS)
    assert definition["agenda"]["first"] == ["contact_requests", "escalations", "admissions"]
    assert programme.is_default_crisis_plan(definition)


def test_rename_add_hide_and_reorder_are_allowed():
    raw = muli_file()
    sections = raw["crisis_plan"]["sections"]
    sections[1]["title"] = {"nb": "Tegn", "en": "Signs"}  # rename
    sections.append({"key": "risk_situations", "kind": "list", "title": {"nb": "Risiko", "en": "Risk"}})
    sections[6]["hidden"] = True  # safe_environment
    sections.reverse()  # reorder
    definition = programme.validate(raw)
    assert keys(definition)[0] == "risk_situations"
    by_key = {s["key"]: s for s in definition["crisis_plan"]["sections"]}
    assert by_key["warning_signs"]["title"] == {"nb": "Tegn", "en": "Signs"}
    assert by_key["safe_environment"]["hidden"] is True
    assert [s["key"] for s in programme.added_sections(definition)] == ["risk_situations"]
    assert not programme.is_default_crisis_plan(definition)


def test_a_template_section_left_out_is_kept_hidden_at_the_end():
    raw = muli_file()
    raw["crisis_plan"]["sections"] = [s for s in raw["crisis_plan"]["sections"] if s["key"] != "distractions"]
    definition = programme.validate(raw)
    assert definition["crisis_plan"]["sections"][-1]["key"] == "distractions"
    assert definition["crisis_plan"]["sections"][-1]["hidden"] is True


@pytest.mark.parametrize("key", programme.REQUIRED_CRISIS_SECTIONS)
def test_required_sections_cannot_be_dropped(key):
    raw = muli_file()
    raw["crisis_plan"]["sections"] = [s for s in raw["crisis_plan"]["sections"] if s["key"] != key]
    errors = refused(raw)
    assert key in errors["crisis_plan.sections"][0]


@pytest.mark.parametrize("key", programme.REQUIRED_CRISIS_SECTIONS)
def test_required_sections_cannot_be_hidden(key):
    raw = muli_file()
    index = keys(programme.default()).index(key)
    raw["crisis_plan"]["sections"][index]["hidden"] = True
    errors = refused(raw)
    assert key in errors[f"crisis_plan.sections.{index}.hidden"][0]


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda r: r.update(format="other/2"), "format"),
        (lambda r: r.update(key="Has Spaces"), "key"),
        (lambda r: r.update(colour="red"), "colour"),
        (lambda r: r.update(name={"nb": "Bare bokmål"}), "name.en"),
        (lambda r: r.update(agency_kinds=["bakery"]), "agency_kinds.0"),
        (lambda r: r.update(consent_scopes=["mastery_plan"]), "consent_scopes"),
        (lambda r: r["agenda"].update(first=["lunch"]), "agenda.first.0"),
        (lambda r: r["crisis_plan"]["sections"][1].update(kind="text"), "crisis_plan.sections.1.kind"),
        (
            lambda r: r["crisis_plan"]["sections"].append({"key": "x_new", "kind": "poem"}),
            "crisis_plan.sections.12.kind",
        ),
        (
            lambda r: r["crisis_plan"]["sections"].append({"key": "version", "kind": "text"}),
            "crisis_plan.sections.12.key",
        ),
        (
            lambda r: r["crisis_plan"]["sections"].append(dict(r["crisis_plan"]["sections"][1])),
            "crisis_plan.sections.12.key",
        ),
        (lambda r: r["mastery_plan"]["sections"].append({"key": "hobbies"}), "mastery_plan.sections.2.key"),
        (lambda r: r["indicators"].append({"key": "moods", "source": "guessed"}), "indicators.3.source"),
        (
            lambda r: r["indicators"].append({"key": "moods", "source": "recorded", "heading": "safe"}),
            "indicators.3.unit",
        ),
    ],
)
def test_a_wrong_field_is_refused_by_name(change, field):
    raw = muli_file()
    change(raw)
    assert field in refused(raw)


def test_round_trip_export_import_is_equal_in_yaml_and_json():
    for key in programme.BUILT_IN:
        definition = programme.built_in(key)
        for fmt in ("yaml", "json"):
            text = programme.dump(definition, fmt)
            assert programme.validate(programme.parse(text)) == definition
    assert json.loads(programme.dump(programme.default(), "json"))["key"] == "muli"


def test_muli_vold_renames_adds_hides_and_reorders():
    vold = programme.built_in("muli-vold")
    by_key = {s["key"]: s for s in vold["crisis_plan"]["sections"]}
    assert by_key["safe_environment"]["hidden"] is True
    assert {s["key"] for s in programme.added_sections(vold)} == {"risk_situations", "police_contact"}
    assert (
        by_key["warning_signs"]["title"]["en"]
        != programme.default()["crisis_plan"]["sections"][1]["title"]["en"]
    )
    assert {"police", "correctional_service", "prison_health"} <= set(vold["agency_kinds"])
    assert [i["key"] for i in vold["indicators"]] == [
        "police_contacts",
        "violent_incidents",
        "days_in_custody",
    ]
    assert vold["agenda"]["first"][0] == "violent_incidents"


def test_not_a_programme_file():
    for text in (b"\xff\xfe", "- a list", "{unclosed", b"x" * (programme.MAX_FILE_BYTES + 1)):
        with pytest.raises(ValidationFailed):
            programme.parse(text)


def test_an_exported_file_is_not_changed_by_its_reader():
    definition = programme.default()
    before = copy.deepcopy(definition)
    yaml.safe_load(programme.dump(definition))
    assert definition == before == programme.default()


def test_extra_sections_are_normalised_and_unknown_ones_refused():
    vold = programme.built_in("muli-vold")
    doc = plans.normalise_crisis(
        {"extra": {"risk_situations": ["  the bus station ", ""], "police_contact": " calm "}}, vold
    )
    assert doc["extra"] == {"risk_situations": ["the bus station"], "police_contact": "calm"}
    with pytest.raises(ValidationFailed) as caught:
        plans.normalise_crisis({"extra": {"nope": "x"}}, vold)
    assert "extra.nope" in caught.value.errors
    with pytest.raises(ValidationFailed) as caught:
        plans.normalise_crisis({"extra": {"risk_situations": "x"}})  # MULI has no extra sections
    assert "extra.risk_situations" in caught.value.errors
    assert "extra" not in plans.normalise_crisis({})


# --- odd Unicode: stored as written, or refused naming the field; never a crash --------------


def test_half_a_character_written_as_a_yaml_escape_is_refused_naming_the_field():
    text = yaml.safe_dump(muli_file(), allow_unicode=True).replace("nb: MULI\n", 'nb: "MULI \\ud83d"\n', 1)
    assert "\\ud83d" in text  # plain ASCII in the file; half an emoji once YAML has read it
    assert list(refused(programme.parse(text))) == ["name.nb"]


def test_a_field_name_of_another_type_or_with_half_a_character_is_refused_by_name():
    raw = muli_file()
    raw["name"] |= {1: "en", "x": "to"}
    assert list(refused(raw)) == ["name.1"]
    raw = muli_file() | {"\udc80": 1}
    assert list(refused(raw)) == ["\\udc80"]


def test_emoji_combining_marks_and_other_scripts_are_kept_through_export_and_import():
    raw = muli_file() | {"key": "muli-sapmi", "name": {"nb": "MULI Sápmi 🌄", "en": "MULI Sa\u0301pmi"}}
    raw["crisis_plan"]["sections"][1]["title"] = {
        "nb": "Varselsignaler \N{EN DASH} ᚠ 漢字",
        "en": "Warning signs 👀",
    }
    definition = programme.validate(raw)
    for fmt in ("yaml", "json"):
        assert (
            programme.validate(programme.parse(programme.dump(definition, fmt).encode("utf-8"))) == definition
        )


@pytest.mark.parametrize(
    "name",
    [
        "MULI \u202eiloV",  # right-to-left override: reads as "Voli" reversed
        "MULI \u2067vold\u2069",  # an isolate
        "MULI\nvold",  # a line break in a one-line name
        "MULI\x1b[31m",  # a terminal escape
        "MU\u0085LI",  # a C1 control (next line) inside the name
    ],
)
def test_a_name_with_control_or_direction_characters_is_refused_by_name(name):
    raw = muli_file()
    raw["name"]["nb"] = name
    assert refused(raw) == {
        "name.nb": ["No control or text-direction characters; line breaks only in longer texts."]
    }


def test_a_longer_text_keeps_its_line_breaks_but_not_a_direction_override():
    raw = muli_file()
    raw["description"] = {"nb": "Første linje.\r\nAndre linje.\n\tInnrykk.", "en": "One.\nTwo."}
    assert programme.validate(raw)["description"]["nb"] == "Første linje.\r\nAndre linje.\n\tInnrykk."
    raw["description"]["en"] = "One.\n\u202eowT"
    assert list(refused(raw)) == ["description.en"]
    # A joiner inside an emoji and a right-to-left script are text, not controls.
    raw["description"]["en"] = "Family 👨\u200d👩\u200d👧 · עברית"
    assert programme.validate(raw)["description"]["en"] == "Family 👨\u200d👩\u200d👧 · עברית"


def test_the_agency_kind_refusal_names_the_kind_and_programme_in_the_readers_language():
    definition = programme.validate(muli_file())
    definition["name"] = {"nb": "MULI-programmet", "en": "The MULI programme"}
    with pytest.raises(ValidationFailed) as caught:
        programme.check_agency_kind(definition | {"agency_kinds": ["dps"]}, "police", "agency_id")
    error = caught.value
    catalogue = {
        error.message: "Programmet %(programme)s har ikke med virksomheter av denne typen (%(kind)s).",
        "police": "politi",
    }
    nb = say(
        error.message, error.params, gettext=lambda m: catalogue.get(m, m), locale="nb", zone=UTC, now=NOW
    )
    assert nb == "Programmet MULI-programmet har ikke med virksomheter av denne typen (politi)."
    assert english(error.message, error.params) == (
        "The programme The MULI programme does not include agencies of this kind (police)."
    )


def test_a_definition_read_along_follows_for_teams_rules(app, world):
    # `read_for_team` answers what `for_team` would: the built-in template for a team
    # without a programme, the programme this unit of work holds (changed, not flushed)
    # over what the statement read, and the template when nothing was read.
    from types import SimpleNamespace

    from muli.cli import system_ctx
    from muli.extensions import db
    from muli.patient import programme
    from muli.team import programmes

    with app.app_context():
        ctx = system_ctx()
        row = programmes.install_built_in(ctx, "muli-vold")
        db.session.flush()
        no_programme = SimpleNamespace(programme_id=None)
        assert programme.read_for_team(ctx, no_programme, {"read": True}) == programme.default()
        assert programme.read_for_team(ctx, None, None) == programme.default()
        team = SimpleNamespace(programme_id=row.id)
        assert programme.read_for_team(ctx, team, {"read": True}) is row.definition  # held
        db.session.expunge(row)
        assert programme.read_for_team(ctx, team, {"read": True}) == {"read": True}
        assert programme.read_for_team(ctx, team, None) == programme.default()
        assert programme.read_for_team(ctx, team, None) == programme.for_team(ctx, None)
        db.session.rollback()
