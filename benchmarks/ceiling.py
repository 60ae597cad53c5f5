"""The ceiling: a bare Flask app that only checks MULI's access token and answers JSON.

It verifies the same JWT the service does (HS256 pinned, the same secret from
MULI_JWT_SECRET, audience "muli-api", issuer "muli", an expiry, token type "access") and
answers a JSON body of exactly `size` bytes, the size of the MULI answer it stands in for.
No database, no encryption, no audit: what this stack (gunicorn, Flask, PyJWT) can do at
most on this machine. Served by gunicorn exactly like the service: `ceiling:app`.
"""

from __future__ import annotations

import json
import os

import jwt
from flask import Flask, Response, request

SECRET = os.environ["MULI_JWT_SECRET"]
AUDIENCE = "muli-api"
ISSUER = "muli"
_PROBLEM = json.dumps({"title": "Unauthorized", "status": 401}).encode()

app = Flask(__name__)


def _body(size: int) -> bytes:
    """`{"pad":"xxx..."}` padded to exactly `size` bytes (at least the empty shell)."""
    shell = b'{"pad":""}'
    return b'{"pad":"' + b"x" * max(0, size - len(shell)) + b'"}'


@app.route("/ceiling/<int:size>", methods=["GET", "POST"])
def ceiling(size: int):
    return _answer(size)


@app.route("/ceiling/not-modified")
def not_modified():
    """The ceiling of a conditional GET: the token checked, then 304 with no body."""
    return _answer(None)


def _answer(size: int | None):
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return Response(_PROBLEM, status=401, mimetype="application/problem+json")
    try:
        claims = jwt.decode(
            header[7:],
            SECRET,
            algorithms=["HS256"],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "sub", "type"]},
        )
    except jwt.InvalidTokenError:
        return Response(_PROBLEM, status=401, mimetype="application/problem+json")
    if claims.get("type") != "access":
        return Response(_PROBLEM, status=401, mimetype="application/problem+json")
    if size is None:
        return Response(status=304, headers={"ETag": '"ceiling"'})
    if request.method == "POST":
        request.get_json()  # parse the body, as the service must
    return Response(_body(size), status=201 if request.method == "POST" else 200, mimetype="application/json")
