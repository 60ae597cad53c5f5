"""The import rule of ARCHITECTURE.md, enforced by walking every module's imports."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WEB = ("flask", "werkzeug", "marshmallow", "flask_smorest", "flask_jwt_extended", "flask_wtf", "flask_babel")
# The only modules of muli that may know Flask and the web packages.
COMPOSITION = {"muli/app.py", "muli/config.py", "muli/extensions.py", "muli/cli.py"}


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


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
