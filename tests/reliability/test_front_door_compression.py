"""Through nginx as deployed (deploy/nginx-muli.conf, in an http block with `gzip on`, as
Debian's nginx.conf has it): the app's own choices about compression stand. A portal page
with a CSRF token stays uncompressed (BREACH), the app's scripts come brotli-compressed."""

from __future__ import annotations

import threading

import pytest
import requests
from werkzeug.serving import WSGIRequestHandler, make_server

from tests.reliability.cluster import NGINX, Nginx

pytestmark = pytest.mark.reliability


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:
        pass


@pytest.fixture
def front_door(app, tmp_path):
    httpd = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    nginx = Nginx(tmp_path, [f"127.0.0.1:{httpd.server_port}"])
    main = nginx.dir / "nginx.conf"
    main.write_text(main.read_text().replace("http {\n", "http {\n    gzip on;\n    gzip_types *;\n", 1))
    try:
        nginx.start()
        yield nginx.url
    finally:
        nginx.kill()
        httpd.shutdown()
        thread.join(timeout=5)


def test_nginx_leaves_the_apps_compression_choices_alone(front_door):
    assert NGINX
    page = requests.get(front_door + "/portal/login", headers={"Accept-Encoding": "gzip"}, timeout=10)
    assert page.status_code == 200
    assert "csrf_token" in page.text
    assert "Content-Encoding" not in page.headers
    script = requests.get(
        front_door + "/app/static/js/app.js", headers={"Accept-Encoding": "br, gzip"}, timeout=10
    )
    assert script.headers["Content-Encoding"] == "br"
