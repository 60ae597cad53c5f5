def test_the_browser_reaches_the_live_server(live_server, tablet):
    tablet.goto(f"{live_server}/healthz")
    assert '"status"' in tablet.content()
