"""What the tracked files themselves must get right: no package registry's host named
anywhere, `apt-get update` before every `apt-get install`, and dependency floors that give
the code what it imports."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Built from pieces, so that this file does not name them either.
REGISTRY_HOSTS = [
    ".".join(parts)
    for parts in (
        ("pypi", "org"),
        ("pypi", "python", "org"),
        ("files", "python" + "hosted", "org"),
        ("registry", "npm" + "js", "org"),
        ("npm" + "js", "com"),
        ("registry", "yarn" + "pkg", "com"),
        ("deb", "debian", "org"),
        ("security", "debian", "org"),
        ("ftp", "debian", "org"),
        ("archive", "ubuntu", "com"),
        ("proxy", "golang", "org"),
        ("crates", "io"),
        ("ruby" + "gems", "org"),
        ("nuget", "org"),
        ("repo1", "maven", "org"),
        ("repo", "maven", "apache", "org"),
        ("packag" + "ist", "org"),
    )
]


def tracked_files() -> list[Path]:
    listing = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=60
    ).stdout
    files = [ROOT / name for name in listing.decode().split("\0") if name]
    assert len(files) > 100, "not a checkout of the repository?"
    return [f for f in files if f.is_file()]  # a deleted file is still listed until committed


def hosts_named(paths: list[Path]) -> list[str]:
    pattern = re.compile("|".join(re.escape(h) for h in REGISTRY_HOSTS), re.IGNORECASE)
    found = []
    for path in paths:
        text = path.read_bytes().decode("utf-8", errors="ignore")
        for number, line in enumerate(text.splitlines(), 1):
            for match in pattern.finditer(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {match.group(0)}")
    return found


def test_no_tracked_file_names_a_package_registrys_host():
    found = hosts_named(tracked_files())
    assert not found, "a package registry's host named in a tracked file:\n" + "\n".join(found)


def test_the_host_check_finds_a_host(tmp_path):
    """The check above can fail: a planted host name is found, whatever its case."""
    planted = ROOT / "tests" / f".planted-{tmp_path.name}.txt"
    planted.write_text("pip install --index-url https://" + REGISTRY_HOSTS[0].upper() + "/simple x\n")
    try:
        assert hosts_named([planted]) == [f"tests/{planted.name}:1: {REGISTRY_HOSTS[0].upper()}"]
    finally:
        planted.unlink()


SHELL_LIKE = re.compile(r"(\.sh|\.bash|Makefile|Dockerfile|\.ci/run|Procfile|\.ya?ml)$")


def apt_installs_without_update(path: Path) -> list[str]:
    """Lines that run `apt-get install` with no `apt-get update` run before them in the file."""
    updated, wrong = False, []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        code = line.split("#", 1)[0]
        if re.search(r"\bapt(-get)?\s+(-\S+\s+)*update\b", code):
            updated = True
        if re.search(r"\bapt(-get)?\s+(-\S+\s+)*install\b", code) and not updated:
            wrong.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    return wrong


def test_every_apt_get_install_is_preceded_by_apt_get_update():
    """A fresh machine has no package lists: `apt-get install` alone finds nothing."""
    scripts = [f for f in tracked_files() if SHELL_LIKE.search(f.relative_to(ROOT).as_posix())]
    assert any(f.name == "ensure-debian-packages.sh" for f in scripts)
    wrong = [line for f in scripts for line in apt_installs_without_update(f)]
    assert not wrong, "apt-get install before any apt-get update:\n" + "\n".join(wrong)


# What the code uses, and the first release of each distribution that has it.
FLOORS = {
    # pythonjsonlogger.json (muli/platform/log.py): new in 3.1.0; before, pythonjsonlogger.jsonlogger
    "python-json-logger": (3, 1, 0),
    # COMPRESS_EVALUATE_CONDITIONAL_REQUEST (muli/app.py, register_compression): new in 1.19
    "flask-compress": (1, 19),
    # BaseDocTemplate(initialFontName=...) and TrueType embedding (muli/patient/pdf.py): in 4.0
    "reportlab": (4, 0),
}


def _floor(requirement: str) -> tuple[str, tuple[int, ...]]:
    match = re.match(r"([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*>=\s*([0-9.]+)", requirement)
    assert match, f"no floor in {requirement!r}"
    return match.group(1).lower(), tuple(int(p) for p in match.group(3).split("."))


def test_dependency_floors_give_the_code_what_it_imports():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    floors = dict(_floor(r) for r in project["dependencies"])
    too_low = {
        name: (floors.get(name), needed)
        for name, needed in FLOORS.items()
        if name not in floors or floors[name] < needed
    }
    assert not too_low, f"floors below what the code needs (have, need): {too_low}"
