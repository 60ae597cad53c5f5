"""Every audit action the code records has plain words for the privacy officer (and the
patient's PDF), in bokmål and English: a new action without them fails here.

The actions are found by reading the code, not by running it: every `audit.record(...)`
call's action, followed through variables, conditional expressions, f-strings and the
parameters of helper functions back to string literals. An action the reader cannot follow
fails too (write it so it can be followed, or describe it and extend the reader)."""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from muli.trust import audit_words

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("muli", "api", "staff_portal")
CATALOGUES = ROOT / "staff_portal" / "translations"
# Actions other branches are adding now; described ahead so they display when they land.
ANNOUNCED = (
    "access.refused",
    "auth.refresh_reuse",
    "account.disable",
    "account.enable",
    "account.password_reset",
    "account.password_change",
    "account.totp_reset",
    "session.end",
    "audit.checkpoint",
    "auth.activate_failed",
)


class Unfollowable(Exception):
    pass


class Reader:
    def __init__(self) -> None:
        self.modules: list[tuple[Path, ast.Module]] = []
        self.parent: dict[ast.AST, ast.AST] = {}
        for root in SOURCES:
            for path in sorted((ROOT / root).rglob("*.py")):
                tree = ast.parse(path.read_text(), str(path))
                self.modules.append((path, tree))
                for node in ast.walk(tree):
                    for child in ast.iter_child_nodes(node):
                        self.parent[child] = node

    def function_of(self, node: ast.AST) -> ast.FunctionDef | None:
        while node in self.parent:
            node = self.parent[node]
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                return node  # type: ignore[return-value]
        return None

    def calls(self):
        for path, tree in self.modules:
            for node in ast.walk(tree):
                if isinstance(node, ast.Call):
                    yield path, node

    def record_calls(self):
        for path, call in self.calls():
            f = call.func
            if isinstance(f, ast.Attribute) and f.attr == "record" and getattr(f.value, "id", "") == "audit":
                yield path, call, argument(call, 2, "action")

    def values(self, expr: ast.expr | None, depth: int = 0) -> set[str]:
        if depth > 8 or expr is None:
            raise Unfollowable(ast.unparse(expr) if expr else "missing")
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            return {expr.value}
        if isinstance(expr, ast.IfExp):
            return self.values(expr.body, depth + 1) | self.values(expr.orelse, depth + 1)
        if isinstance(expr, ast.JoinedStr):
            parts = [
                self.values(p.value if isinstance(p, ast.FormattedValue) else p, depth + 1)
                for p in expr.values
            ]
            return {"".join(combo) for combo in itertools.product(*parts)}
        if isinstance(expr, ast.Name):
            return self.name_values(expr, depth)
        raise Unfollowable(ast.unparse(expr))

    def module_of(self, node: ast.AST) -> ast.Module | None:
        while node in self.parent:
            node = self.parent[node]
        return node if isinstance(node, ast.Module) else None

    def module_constant(self, name: ast.Name, depth: int) -> set[str]:
        """A module-level NAME = "literal" (e.g. refusals.ACTION)."""
        module = self.module_of(name)
        assigned = [
            node.value
            for node in (module.body if module else [])
            if isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == name.id for t in node.targets)
        ]
        if not assigned:
            raise Unfollowable(name.id)
        return set().union(*(self.values(v, depth + 1) for v in assigned))

    def name_values(self, name: ast.Name, depth: int) -> set[str]:
        fn = self.function_of(name)
        if fn is None:
            return self.module_constant(name, depth)
        params = [a.arg for a in fn.args.posonlyargs + fn.args.args]
        if name.id in params or name.id in [a.arg for a in fn.args.kwonlyargs]:
            index = params.index(name.id) if name.id in params else None
            found: set[str] = set()
            for _path, call in self.calls():
                f = call.func
                called = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)
                if called == fn.name:
                    found |= self.values(argument(call, index, name.id), depth + 1)
            if not found:
                raise Unfollowable(f"{fn.name}({name.id}) is never called")
            return found
        assigned = [
            node.value
            for node in ast.walk(fn)
            if isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == name.id for t in node.targets)
        ]
        if not assigned:
            return self.module_constant(name, depth)
        return set().union(*(self.values(v, depth + 1) for v in assigned))


def argument(call: ast.Call, index: int | None, keyword: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == keyword:
            return kw.value
    if index is not None and len(call.args) > index:
        return call.args[index]
    return None


def recorded_actions() -> set[str]:
    reader = Reader()
    actions: set[str] = set()
    problems = []
    for path, call, action in reader.record_calls():
        try:
            actions |= reader.values(action)
        except Unfollowable as why:
            problems.append(f"{path.relative_to(ROOT)}:{call.lineno}: cannot follow {why}")
    assert not problems, "\n".join(problems)
    return actions


def test_the_reader_finds_the_actions_it_must_follow():
    """Literal, through a helper's parameter, a local variable, an f-string, a conditional."""
    assert {
        "crisis_plan.read",
        "diary.list_shared",  # record_access(ctx, grant, "diary.list_shared", ...)
        "contact_request.history",  # action = "..." then audit.record(..., action, ...)
        "contact_request.escalate.backup",  # f"contact_request.escalate.{kind}"
        "profile.phone.remove",  # "..." if phone else "..."
    } <= recorded_actions()


def test_every_recorded_action_has_plain_words():
    missing = sorted(a for a in recorded_actions() if a not in audit_words.ACTIONS)
    assert missing == [], f"describe these in muli/trust/audit_words.py: {missing}"


def test_the_actions_announced_by_other_work_have_plain_words():
    assert [a for a in ANNOUNCED if a not in audit_words.ACTIONS] == []


def test_every_action_belongs_to_a_known_kind():
    assert {kind for kind, _ in audit_words.ACTIONS.values()} <= set(audit_words.KINDS)


def _catalogue(locale: str) -> dict[str, str]:
    with open(CATALOGUES / locale / "LC_MESSAGES" / "messages.po", "rb") as po:
        return {m.id: m.string for m in read_po(po) if m.id}


@pytest.mark.parametrize("locale", ["nb", "en"])
def test_every_description_is_in_the_portals_catalogues(locale):
    """English is the message id; bokmål must be translated (English may leave it empty)."""
    catalogue = _catalogue(locale)
    words = audit_words.all_words()
    missing = [w for w in words if w not in catalogue]
    assert missing == []
    if locale == "nb":
        assert [w for w in words if not catalogue[w]] == []


def test_the_systems_own_reasons_are_shown_in_the_readers_language():
    """A reason the system wrote into the trail is shown translated, its numbers kept; a reason
    a person wrote is shown as written (even one that looks like a message id)."""
    with (CATALOGUES / "nb" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        nb = {m.id: m.string for m in read_po(handle) if m.id}

    def bokmal(text: str) -> str:
        return nb.get(text) or text

    stored = audit_words.REASON_THROTTLED % {"n": 3}
    assert audit_words.say_reason(stored, bokmal) == "ikke sjekket: vent 3 s"
    ceiling = audit_words.REASON_USERNAME_CEILING % {"n": 12, "h": 1}
    assert audit_words.say_reason(ceiling, bokmal).startswith("12 mislykkede forsøk")
    assert (
        audit_words.say_reason(audit_words.REASON_BESIDE_REQUEST, bokmal)
        == "ved siden av en kontaktforespørsel"
    )
    for template in audit_words.SYSTEM_REASONS:
        assert nb.get(template), template
    written = "Politiet ringte; trengte å vite hvem vi skulle ringe"
    assert audit_words.say_reason(written, bokmal) == written
    assert audit_words.say_reason("not checked: wait a bit s", bokmal) == "not checked: wait a bit s"
