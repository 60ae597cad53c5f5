def test_healthz_answers_ok_without_auth(client):
    assert client.get("/healthz").json == {"status": "ok"}


def test_readyz_checks_the_database(client):
    assert client.get("/readyz").json == {"status": "ready"}
