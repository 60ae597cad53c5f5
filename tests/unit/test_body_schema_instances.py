"""api.body's Blueprint makes a schema class given to `arguments` an instance once, at the
route's definition, instead of webargs making a new one on every request; what it loads and
refuses stays the same on every request."""

from __future__ import annotations

from flask import Flask
from flask.views import MethodView
from marshmallow import Schema, fields

from api.body import Blueprint

made = []


class CountedIn(Schema):
    name = fields.String(required=True)
    age = fields.Integer()

    def __init__(self, *args, **kwargs):
        made.append(self)
        super().__init__(*args, **kwargs)


def _app() -> Flask:
    app = Flask(__name__)
    blp = Blueprint("counted", __name__, url_prefix="/counted")

    @blp.route("")
    class Counted(MethodView):
        @blp.arguments(CountedIn)
        def post(self, data):
            return {"got": data}

        @blp.arguments(CountedIn, location="query")
        def get(self, args):
            return {"got": args}

    app.register_blueprint(blp)
    return app


def test_a_schema_class_is_made_once_for_all_requests_and_loads_each_body_anew():
    made.clear()
    client = _app().test_client()
    assert len(made) == 2  # one per declared argument, at definition
    answers = [client.post("/counted", json={"name": f"n{i}", "age": i}).get_json() for i in range(3)]
    assert answers == [{"got": {"name": f"n{i}", "age": i}} for i in range(3)]
    assert client.get("/counted?name=q&age=4").get_json() == {"got": {"name": "q", "age": 4}}
    refused = client.post("/counted", json={"age": "x", "other": 1})
    assert refused.status_code == 422
    # Errors of one request do not stay on the shared instance for the next one.
    assert client.post("/counted", json={"name": "ok"}).get_json() == {"got": {"name": "ok"}}
    assert len(made) == 2
