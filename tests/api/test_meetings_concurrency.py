"""Two people saving the same meeting note at the same moment: one wins, the rest get 412."""

import threading
from datetime import date

import pytest

SAVERS = 8

# The app runs on the real clock: meet today.
HELD_ON = date.today().isoformat()


@pytest.fixture
def care(world):
    return world.care_team()


@pytest.fixture
def note_url(client, care):
    meeting = client.post(
        f"/api/v1/staff/teams/{care.team.id}/meetings",
        json={"held_on": HELD_ON},
        headers=care.coordinator.headers,
    ).json
    return f"/api/v1/staff/meetings/{meeting['id']}/notes/{care.patient.id}"


def save_at_once(app, url, headers, etag) -> list[int]:
    barrier, statuses = threading.Barrier(SAVERS), []

    def save(n):
        with app.test_client() as own:
            barrier.wait()
            answer = own.put(url, json={"text": f"versjon {n}"}, headers={**headers, "If-Match": etag})
            statuses.append(answer.status_code)

    threads = [threading.Thread(target=save, args=(n,)) for n in range(SAVERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return sorted(statuses)


def test_simultaneous_first_saves_of_a_note_let_exactly_one_through(app, client, care, note_url):
    etag = client.get(note_url, headers=care.member.headers).headers["ETag"]
    assert save_at_once(app, note_url, care.member.headers, etag) == [200] + [412] * (SAVERS - 1)


def test_simultaneous_edits_of_the_same_version_let_exactly_one_through(app, client, care, note_url):
    etag = client.get(note_url, headers=care.member.headers).headers["ETag"]
    etag = client.put(
        note_url, json={"text": "første"}, headers={**care.member.headers, "If-Match": etag}
    ).headers["ETag"]
    assert save_at_once(app, note_url, care.member.headers, etag) == [200] + [412] * (SAVERS - 1)


def test_after_the_race_the_note_holds_the_winners_text_at_the_next_version(app, client, care, note_url):
    etag = client.get(note_url, headers=care.member.headers).headers["ETag"]
    save_at_once(app, note_url, care.member.headers, etag)
    note = client.get(note_url, headers=care.member.headers).json
    assert (note["version"], note["text"].startswith("versjon ")) == (1, True)
