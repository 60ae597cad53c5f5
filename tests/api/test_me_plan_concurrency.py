"""Two devices saving the same version at the same moment: exactly one wins, the other gets 412."""

from __future__ import annotations

import threading

import pytest


def _race(app, path, body, headers) -> list[int]:
    """Send the same PUT from two threads released together; answer both statuses."""
    start, statuses = threading.Barrier(2), []

    def save():
        client = app.test_client()
        start.wait()
        statuses.append(client.put(path, json=body, headers=headers).status_code)

    threads = [threading.Thread(target=save) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(statuses)


@pytest.mark.parametrize("path", ["/api/v1/me/crisis-plan", "/api/v1/me/mastery-plan"])
def test_of_two_simultaneous_saves_exactly_one_wins(app, world, path):
    patient = world.patient(world.team())
    body = {"what_helps": "x"} if "crisis" in path else {"strategies": [{"title": "x"}]}
    for _ in range(3):
        etag = app.test_client().get(path, headers=patient.headers).headers["ETag"]
        assert _race(app, path, body, {**patient.headers, "If-Match": etag}) == [200, 412]
