"""The import rules of ARCHITECTURE.md, enforced by walking every module's imports.

The domain lives in rooms by capability, layered so that arrows run one way:

    team, contact  ->  patient  ->  trust  ->  platform, models

`team` and `contact` stand side by side and never import each other; the composition root
(`muli/app.py`, `config.py`, `extensions.py`, `cli.py`, `demo.py`) may use every room.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WEB = ("flask", "werkzeug", "marshmallow", "flask_smorest", "flask_jwt_extended", "flask_wtf", "flask_babel")
# The only modules of muli that may know Flask and the web packages.
COMPOSITION = {"muli/app.py", "muli/config.py", "muli/extensions.py", "muli/cli.py"}


# Each room and the rooms below it that it may import (its own room always).
ROOMS = ("models", "platform", "trust", "patient", "contact", "team")
MAY_IMPORT = {
    "models": {"models"},
    "platform": {"models", "platform"},
    "trust": {"models", "platform", "trust"},
    "patient": {"models", "platform", "trust", "patient"},
    "contact": {"models", "platform", "trust", "patient", "contact"},
    "team": {"models", "platform", "trust", "patient", "team"},
}


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def muli_imports(path: Path, root: Path = ROOT) -> set[str]:
    """Every muli module a file imports, as dotted names (relative imports resolved)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = list(path.relative_to(root).with_suffix("").parts)[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            # `from muli import trust` and `from muli.trust import access` both name a room.
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return {name for name in found if name.split(".")[0] == "muli"}


def room_of(module: str) -> str | None:
    """The room of a dotted muli module name, or None for the composition root."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ROOMS else None


def layering_offences(root: Path = ROOT) -> dict[str, list[str]]:
    """Each module of a room under root/muli that imports a room it may not, with those imports."""
    offenders = {}
    for path in sorted((root / "muli").rglob("*.py")):
        name = str(path.relative_to(root))
        own = room_of(".".join(path.relative_to(root).with_suffix("").parts))
        if own is None:
            continue
        bad = sorted(m for m in muli_imports(path, root) if room_of(m) not in MAY_IMPORT[own])
        if bad:
            offenders[name] = bad
    return offenders


def modules(package: str):
    return sorted((ROOT / package).rglob("*.py"))


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_the_domain_imports_no_web_framework():
    offenders = {
        rel(p): sorted(imports(p) & set(WEB))
        for p in modules("muli")
        if rel(p) not in COMPOSITION and imports(p) & set(WEB)
    }
    assert offenders == {}


def test_only_the_composition_root_imports_the_web_layers():
    offenders = [rel(p) for p in modules("muli") if imports(p) & {"api", "staff_portal", "patient_app"}]
    assert offenders == ["muli/app.py"] or offenders == []


def test_api_and_staff_portal_never_import_each_other():
    for package, other in (("api", "staff_portal"), ("staff_portal", "api"), ("api", "patient_app")):
        offenders = [rel(p) for p in modules(package) if other in imports(p)]
        assert offenders == [], f"{package} imports {other}"


def test_the_rule_checker_sees_a_violation(tmp_path):
    sample = tmp_path / "bad.py"
    sample.write_text("from flask import request\nimport werkzeug.exceptions\n")
    assert imports(sample) >= {"flask", "werkzeug"}


def test_every_domain_module_lives_in_a_room_or_the_composition_root():
    root_modules = COMPOSITION | {"muli/__init__.py", "muli/demo.py"}
    loose = {rel(p) for p in (ROOT / "muli").glob("*.py")} - root_modules
    assert loose == set(), "a new module belongs in one of the rooms: " + ", ".join(ROOMS)


def test_rooms_import_only_rooms_below_them():
    assert layering_offences() == {}


def test_each_room_says_what_it_is_for_and_nothing_else():
    for room in set(ROOMS) - {"models"}:  # models/__init__ imports every model for the mapper
        tree = ast.parse((ROOT / "muli" / room / "__init__.py").read_text())
        assert len(tree.body) == 1, f"muli/{room}/__init__.py should hold only its docstring"
        assert isinstance(tree.body[0], ast.Expr) and isinstance(tree.body[0].value, ast.Constant)


def test_the_layering_checker_sees_an_upward_import(tmp_path):
    room = tmp_path / "muli" / "trust"
    room.mkdir(parents=True)
    (room / "a.py").write_text("from muli.patient import consent\n")
    (room / "b.py").write_text("from muli.platform.context import Ctx\nfrom . import audit\n")
    (tmp_path / "muli" / "contact").mkdir()
    (tmp_path / "muli" / "contact" / "c.py").write_text("from muli import team\n")
    assert layering_offences(tmp_path) == {
        "muli/trust/a.py": ["muli.patient.consent"],
        "muli/contact/c.py": ["muli.team"],
    }
