"""The weekly meeting service: agenda, carry-over, notes with versions, signing, system issues."""

from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import select, update

from muli.extensions import db
from muli.models.audit import AuditEvent
from muli.models.contact import ContactRequest
from muli.models.meetings import ActionItem, MeetingNote
from muli.models.people import Admission, Patient
from muli.platform.errors import (
    Conflict,
    ConsentRequired,
    Forbidden,
    InvalidState,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    ValidationFailed,
)
from muli.team import meetings
from muli.team.meetings import lookup
from muli.trust import accounts

MONDAY = date(2026, 11, 23)
LAST_MONDAY = date(2026, 11, 16)


@pytest.fixture
def now(clock):
    clock.set(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))
    return clock


@pytest.fixture
def care(world):
    return world.care_team()


@pytest.fixture
def as_(now, ctx):
    """A unit of work acting as a test login."""

    def make(login):
        actor = accounts.actor_for(ctx, db.session.get(type(login.account), login.account.id))
        db.session.commit()  # SQLite: free the write lock for the world's own sessions
        return ctx.acting_as(actor)

    return make


def admit(patient_id, on: date):
    db.session.add(Admission(patient_id=patient_id, admitted_on=on))
    db.session.commit()


def agenda_names(view):
    return [entry.display_name for entry in view.agenda]


def test_the_agenda_lists_every_active_patient_of_the_team(world, care, as_):
    world.patient(care.team, name="Bodil")
    ended = world.patient(care.team, name="Ended")
    db.session.get(Patient, ended.id).status = "ended"
    db.session.commit()
    coordinator = as_(care.coordinator)
    meeting = meetings.create_meeting(coordinator, care.team.id, MONDAY)
    names = agenda_names(meetings.get_meeting(coordinator, meeting.id))
    assert sorted(names) == sorted(["Bodil", care.patient.name])


def test_patients_admitted_since_the_last_meeting_come_first(world, care, as_):
    world.patient(care.team, name="Anna", consents={care.agency: "all"})
    kari = world.patient(care.team, name="Kari", consents={care.agency: "all"})
    coordinator = as_(care.coordinator)
    meetings.create_meeting(coordinator, care.team.id, LAST_MONDAY)
    admit(kari.id, date(2026, 11, 20))
    meeting = meetings.create_meeting(coordinator, care.team.id, MONDAY)
    view = meetings.get_meeting(coordinator, meeting.id)
    assert view.agenda[0].display_name == "Kari"
    assert view.agenda[0].events["admissions"] == 1


def test_an_admission_before_the_last_meeting_does_not_move_a_patient_up(world, care, as_):
    world.patient(care.team, name="Anna")
    kari = world.patient(care.team, name="Kari")
    admit(kari.id, date(2026, 11, 10))
    coordinator = as_(care.coordinator)
    meetings.create_meeting(coordinator, care.team.id, LAST_MONDAY)
    meeting = meetings.create_meeting(coordinator, care.team.id, MONDAY)
    names = agenda_names(meetings.get_meeting(coordinator, meeting.id))
    assert names.index("Anna") < names.index("Kari")


def test_contact_requests_and_escalations_since_the_last_meeting_put_a_patient_first(world, care, as_):
    world.patient(care.team, name="Anna")
    # The figures are shown to an agency with the patient's consent (issue 15).
    kari = world.patient(care.team, name="Kari", consents={care.agency: "all"})
    coordinator = as_(care.coordinator)
    meetings.create_meeting(coordinator, care.team.id, LAST_MONDAY)
    db.session.add(
        ContactRequest(
            patient_id=kari.id,
            team_id=care.team.id,
            kind="call_me",
            urgency="crisis",
            routed_to="on_call",
            acknowledge_within_minutes=10,
            escalation_level=1,
            created_at=datetime(2026, 11, 21, 0, 40, tzinfo=UTC),
        )
    )
    db.session.commit()
    view = meetings.get_meeting(coordinator, meetings.create_meeting(coordinator, care.team.id, MONDAY).id)
    assert (view.agenda[0].display_name, view.agenda[0].events) == (
        "Kari",
        {"contact_requests": 1, "escalations": 1, "admissions": 0},
    )


def test_open_actions_of_earlier_meetings_are_carried_over(care, as_):
    coordinator = as_(care.coordinator)
    last = meetings.create_meeting(coordinator, care.team.id, LAST_MONDAY)
    open_one = meetings.add_action(
        coordinator,
        last.id,
        patient_id=care.patient.id,
        description="DPS: time hos psykiater innen fredag",
        responsible_agency_id=care.agency.id,
        due_on=date(2026, 11, 20),
    )
    done = meetings.add_action(
        coordinator,
        last.id,
        patient_id=care.patient.id,
        description="Ring Kari",
        responsible_agency_id=care.agency.id,
        due_on=date(2026, 11, 17),
    )
    meetings.set_action_status(coordinator, done.id, "done")
    db.session.commit()
    view = meetings.get_meeting(coordinator, meetings.create_meeting(coordinator, care.team.id, MONDAY).id)
    assert [a.id for a in view.carried_over] == [open_one.id]


def test_system_issues_are_not_carried_over_onto_the_patients_agenda(care, as_):
    coordinator = as_(care.coordinator)
    last = meetings.create_meeting(coordinator, care.team.id, LAST_MONDAY)
    meetings.add_action(
        coordinator,
        last.id,
        description="Ambulanse og politi har motstridende rutiner",
        responsible_agency_id=care.agency.id,
        due_on=date(2026, 12, 1),
        system_issue=True,
    )
    view = meetings.get_meeting(coordinator, meetings.create_meeting(coordinator, care.team.id, MONDAY).id)
    assert view.carried_over == []


def test_only_a_coordinator_creates_a_meeting(care, as_):
    with pytest.raises(Forbidden):
        meetings.create_meeting(as_(care.member), care.team.id, MONDAY)


def test_a_second_meeting_on_the_same_date_is_a_conflict(care, as_):
    coordinator = as_(care.coordinator)
    meetings.create_meeting(coordinator, care.team.id, MONDAY)
    with pytest.raises(Conflict):
        meetings.create_meeting(coordinator, care.team.id, MONDAY)


def test_another_teams_meeting_does_not_exist(world, care, as_):
    other = world.care_team()
    meeting = meetings.create_meeting(as_(other.coordinator), other.team.id, MONDAY)
    with pytest.raises(NotFound):
        meetings.get_meeting(as_(care.member), meeting.id)


@pytest.fixture
def meeting(care, as_):
    created = SimpleNamespace(id=meetings.create_meeting(as_(care.coordinator), care.team.id, MONDAY).id)
    # Commit, and keep only the id: reading an expired row would open a transaction and, on
    # SQLite, hold the write lock the world's own sessions need.
    db.session.commit()
    return created


def first_save(ctx, meeting, patient_id, text="Sov dårlig, stemmene sterke."):
    etag = meetings.get_note(ctx, meeting.id, patient_id).etag
    return meetings.save_note(ctx, meeting.id, patient_id, text, etag)


def test_a_note_is_stored_encrypted(care, as_, meeting):
    first_save(as_(care.member), meeting, care.patient.id, "Sov dårlig")
    db.session.commit()
    stored = db.session.scalars(select(MeetingNote)).one()
    assert "Sov" not in stored.text_enc


def test_a_saved_note_reads_back_with_a_new_version(care, as_, meeting):
    member = as_(care.member)
    saved = first_save(member, meeting, care.patient.id, "Sov dårlig")
    again = meetings.get_note(member, meeting.id, care.patient.id)
    assert (again.text, again.version, again.etag) == ("Sov dårlig", 1, saved.etag)


def test_saving_a_note_without_if_match_is_refused(care, as_, meeting):
    with pytest.raises(PreconditionRequired):
        meetings.save_note(as_(care.member), meeting.id, care.patient.id, "tekst", None)


def test_saving_over_a_version_someone_else_replaced_is_refused(care, as_, meeting):
    member = as_(care.member)
    read = meetings.get_note(member, meeting.id, care.patient.id).etag
    meetings.save_note(member, meeting.id, care.patient.id, "Siv skrev dette", read)
    with pytest.raises(PreconditionFailed):
        meetings.save_note(member, meeting.id, care.patient.id, "Ola skrev dette", read)


def test_a_stale_save_leaves_the_note_as_it_was(care, as_, meeting):
    member = as_(care.member)
    read = meetings.get_note(member, meeting.id, care.patient.id).etag
    meetings.save_note(member, meeting.id, care.patient.id, "Siv skrev dette", read)
    with pytest.raises(PreconditionFailed):
        meetings.save_note(member, meeting.id, care.patient.id, "Ola skrev dette", read)
    assert meetings.get_note(member, meeting.id, care.patient.id).text == "Siv skrev dette"


def test_an_if_match_of_star_does_not_overwrite_blindly(care, as_, meeting):
    member = as_(care.member)
    first_save(member, meeting, care.patient.id)
    with pytest.raises(PreconditionFailed):
        meetings.save_note(member, meeting.id, care.patient.id, "overskrevet", "*")


def test_writing_a_note_needs_the_meeting_notes_consent_of_the_writers_agency(world, care, as_, meeting):
    outsider = world.staff(care.team, agency=world.agency(kind="police"))
    with pytest.raises(ConsentRequired):
        meetings.get_note(as_(outsider), meeting.id, care.patient.id)


def test_an_agency_without_consent_sees_the_patient_on_the_agenda_with_the_note_hidden(
    world, care, as_, meeting
):
    first_save(as_(care.member), meeting, care.patient.id, "Sov dårlig")
    db.session.commit()
    police = world.staff(care.team, agency=world.agency(kind="police"))
    entry = meetings.get_meeting(as_(police), meeting.id).agenda[0]
    assert (entry.patient_id, entry.note.hidden, entry.note.text) == (care.patient.id, True, None)


def test_another_teams_patient_has_no_note_in_this_meeting(world, care, as_, meeting):
    other = world.care_team()
    with pytest.raises(NotFound):
        meetings.get_note(as_(care.member), meeting.id, other.patient.id)


def test_reading_a_meeting_audits_a_read_for_each_patient_on_the_agenda(care, as_, meeting):
    meetings.get_meeting(as_(care.member), meeting.id)
    db.session.commit()
    reads = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "meeting.read")).all()
    assert [e.patient_id for e in reads] == [care.patient.id]


def test_a_signed_meeting_refuses_note_changes(care, as_, meeting):
    member = as_(care.member)
    etag = meetings.get_note(member, meeting.id, care.patient.id).etag
    meetings.sign_meeting(as_(care.coordinator), meeting.id)
    with pytest.raises(InvalidState):
        meetings.save_note(member, meeting.id, care.patient.id, "etterpå", etag)


def test_a_signed_meeting_refuses_new_actions(care, as_, meeting):
    meetings.sign_meeting(as_(care.coordinator), meeting.id)
    with pytest.raises(InvalidState):
        meetings.add_action(
            as_(care.member),
            meeting.id,
            patient_id=care.patient.id,
            description="for sent",
            responsible_agency_id=care.agency.id,
            due_on=MONDAY,
        )


def test_only_a_coordinator_signs(care, as_, meeting):
    with pytest.raises(Forbidden):
        meetings.sign_meeting(as_(care.member), meeting.id)


def test_an_addendum_about_a_patient_is_added_after_signing(care, as_, meeting):
    meetings.sign_meeting(as_(care.coordinator), meeting.id)
    meetings.add_addendum(as_(care.member), meeting.id, "Kari ringte etter møtet", patient_id=care.patient.id)
    view = meetings.get_meeting(as_(care.member), meeting.id)
    assert [a.text for a in view.addenda] == ["Kari ringte etter møtet"]


def test_an_action_from_a_signed_meeting_can_be_marked_done(care, as_, meeting):
    action = meetings.add_action(
        as_(care.member),
        meeting.id,
        patient_id=care.patient.id,
        description="DPS: time hos psykiater innen fredag",
        responsible_agency_id=care.agency.id,
        due_on=MONDAY,
    )
    meetings.sign_meeting(as_(care.coordinator), meeting.id)
    assert meetings.set_action_status(as_(care.member), action.id, "done").status == "done"


def test_an_action_needs_an_agency_on_the_team(world, care, as_, meeting):
    with pytest.raises(ValidationFailed):
        meetings.add_action(
            as_(care.member),
            meeting.id,
            patient_id=care.patient.id,
            description="x",
            responsible_agency_id=world.agency().id,
            due_on=MONDAY,
        )


@pytest.fixture
def system_issue(care, as_, meeting):
    issue = meetings.add_action(
        as_(care.member),
        meeting.id,
        patient_id=care.patient.id,
        description="Ambulanse og politi har motstridende rutiner",
        responsible_agency_id=care.agency.id,
        due_on=date(2026, 12, 1),
        system_issue=True,
    )
    db.session.commit()
    return issue


def test_a_system_issue_is_stored_without_the_patient_it_was_raised_for(system_issue):
    assert db.session.get(ActionItem, system_issue.id).patient_id is None


def test_a_system_issue_is_not_among_the_patients_actions(care, as_, system_issue):
    assert meetings.patient_actions(as_(care.member), care.patient.id) == []


def test_a_system_issue_is_not_in_the_patients_export(care, as_, system_issue):
    exported = meetings.export_for_patient(as_(care.member), db.session.get(Patient, care.patient.id))
    assert exported["meeting_actions"] == []


def test_a_system_issue_is_on_the_leaders_list(care, as_, system_issue):
    page = meetings.system_issues(as_(care.coordinator), care.team.id)
    assert [(a.id, a.description) for a in page.items] == [
        (system_issue.id, "Ambulanse og politi har motstridende rutiner")
    ]


def test_the_leaders_list_is_for_coordinators(care, as_, system_issue):
    with pytest.raises(Forbidden):
        meetings.system_issues(as_(care.member), care.team.id)


def test_attendees_are_recorded_with_their_agency(care, as_, meeting):
    attendees = meetings.set_attendees(
        as_(care.coordinator),
        meeting.id,
        [care.member.id],
        [meetings.Guest("Pia", "Politiet")],
    )
    assert [(a.name, a.agency_name, a.guest) for a in attendees] == [
        (care.member.staff.display_name, care.agency.name, False),
        ("Pia", "Politiet", True),
    ]


def test_an_attendee_must_be_on_the_team(world, care, as_, meeting):
    stranger = world.staff(world.team())
    with pytest.raises(ValidationFailed):
        meetings.set_attendees(as_(care.coordinator), meeting.id, [stranger.id])


def test_a_save_overtaken_between_its_read_and_its_write_is_refused(care, as_, meeting, monkeypatch):
    member = as_(care.member)
    etag = first_save(member, meeting, care.patient.id, "Siv skrev dette").etag
    read = lookup.find_note

    def read_then_someone_else_saves(ctx, meeting_id, patient_id):
        note = read(ctx, meeting_id, patient_id)
        ctx.session.execute(
            update(MeetingNote)
            .where(MeetingNote.id == note.id)
            .values(version=note.version + 1)
            .execution_options(synchronize_session=False)
        )
        return note

    monkeypatch.setattr(lookup, "find_note", read_then_someone_else_saves)
    with pytest.raises(PreconditionFailed):
        meetings.save_note(member, meeting.id, care.patient.id, "Ola skrev dette", etag)
