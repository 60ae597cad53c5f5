"""The patient's programme: the sections their plans show, in order, with their titles."""

from __future__ import annotations

from flask.views import MethodView

from api.body import Blueprint
from api.context import current_ctx, require_kind
from api.programme_schemas import ProgrammePlansOut
from muli.patient import programme

blp = Blueprint("me_programme", __name__, url_prefix="/api/v1/me", description="The programme my team runs")
blp.before_request(lambda: require_kind("patient"))


@blp.route("/programme")
class MyProgramme(MethodView):
    @blp.response(200, ProgrammePlansOut)
    def get(self):
        """My team's programme (MULI, MULI vold...): its crisis plan's and mastery plan's sections,
        in order, with titles in bokmål and English, and which it hides."""
        return programme.my_programme(current_ctx())
