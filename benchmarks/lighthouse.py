"""Lighthouse 12 on the patient app and the staff portal, as the demo serves them.

    .venv/bin/python benchmarks/lighthouse.py            # one run per page, ~4 minutes
    LIGHTHOUSE_RUNS=3 .venv/bin/python benchmarks/lighthouse.py   # the median of three

A fresh demo (a temporary SQLite file and instance directory, fresh keys, `MULI_ENV=production`
as `make bench` runs it) is migrated and seeded (`muli seed-demo --json`), then served by the
Procfile's `web:` line (`serve.py`, waitress) on 127.0.0.1 and a free port. Kari signs in to
the app (the refresh cookie the app itself would get) and Kristin to the portal (password and
TOTP through the login form); each cookie goes to Lighthouse as `--extra-headers`, so the page
loads signed in as it would on a phone or a desk. Kari asks for a call first, so the queue has
a card.

Pages: the app's home and crisis plan (mobile form factor, Lighthouse's default simulated
4G throttling) and the portal's on-call queue and a patient page (desktop preset).
Categories: performance, accessibility, best-practices, seo. The scores are figures for the
closing note of issue 16; nothing asserts them. Written: benchmarks/results/lighthouse.json
(scores, the main metrics, the audits that did not pass) and the table in
benchmarks/README.md between the lighthouse markers.

Needs Node 20 and tests/node/node_modules (lighthouse, installed by
scripts/ensure-node-packages.sh) and Debian's chromium at CHROME_PATH (/usr/bin/chromium).
The server runs in its own process group and is stopped in `finally`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pyotp
import requests

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: `muli` is imported for its keys
VENV_BIN = ROOT / ".venv" / "bin"
LIGHTHOUSE = ROOT / "tests" / "node" / "node_modules" / ".bin" / "lighthouse"
CHROME = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
CHROME_FLAGS = (
    "--headless=new --no-sandbox --disable-gpu --disable-background-networking "
    "--disable-component-update --disable-sync --no-first-run"
)
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
METRICS = {
    "first-contentful-paint": "FCP",
    "largest-contentful-paint": "LCP",
    "total-blocking-time": "TBT",
    "cumulative-layout-shift": "CLS",
    "speed-index": "SI",
}
RUNS = int(os.environ.get("LIGHTHOUSE_RUNS", "1"))
OUT = Path(os.environ.get("LIGHTHOUSE_OUT", HERE / "results"))
REPORTS = os.environ.get("LIGHTHOUSE_REPORTS")  # a folder to keep Lighthouse's full reports in
README = HERE / "README.md"
MARKERS = ("<!-- lighthouse:start -->", "<!-- lighthouse:end -->")


def log(message: str) -> None:
    print(f"[lighthouse] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment(workdir: Path, port: int) -> dict:
    from muli.platform.crypto import new_key
    from muli.trust.audit import new_signing_key

    secret = new_key() + new_key()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MULI_")}
    env.update(
        MULI_ENV="production",
        MULI_ALLOW_SQLITE="1",
        MULI_DATABASE_URL=f"sqlite:///{workdir / 'muli.sqlite3'}",
        MULI_INSTANCE_DIR=str(workdir / "instance"),
        MULI_DATA_KEYS=f"lh1:{new_key()}",
        MULI_BLIND_INDEX_KEY=new_key(),
        MULI_AUDIT_KEYS=f"lh1:{new_key()}",
        MULI_AUDIT_SIGNING_KEYS=f"lh1:{new_signing_key()}",
        MULI_JWT_SECRET=secret,
        MULI_SECRET_KEY=secret[::-1],
        MULI_PUBLIC_URL=f"http://127.0.0.1:{port}",
        MULI_LOG_LEVEL="WARNING",
        PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        PYTHONPATH=str(ROOT),
    )
    return env


def flask(env: dict, *args: str) -> str:
    done = subprocess.run(  # noqa: S603 - our own flask from .venv
        [str(VENV_BIN / "flask"), "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return done.stdout


class Demo:
    """serve.py (the Procfile's web line) on 127.0.0.1, in its own process group."""

    def __init__(self, env: dict, port: int, log_path: Path):
        self.env, self.port, self.log_path = env, port, log_path
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Demo:
        with self.log_path.open("ab") as out:
            self.proc = subprocess.Popen(  # noqa: S603 - serve.py from this checkout
                [str(VENV_BIN / "python"), "serve.py", "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve.py exited at start; see {self.log_path}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.url}/app/", timeout=2).status_code == 200:
                    return self
            time.sleep(0.3)
        raise RuntimeError(f"serve.py did not answer; see {self.log_path}")

    def __exit__(self, *_exc) -> None:
        if self.proc and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


def cookie_header(*jars) -> str:
    """The cookies as one Cookie header, later jars winning. By hand: the production settings
    mark them Secure, and requests would not send those back over plain http to 127.0.0.1."""
    cookies = {c.name: c.value for jar in jars for c in jar}
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def patient_cookie(url: str, kari: dict) -> str:
    """A fresh refresh cookie, as the app's own sign-in gets (it rotates at the page's
    first refresh, so each Lighthouse run of the app gets its own)."""
    response = requests.post(
        f"{url}/api/v1/auth/token",
        json={"username": kari["username"], "password": kari["password"], "cookie": True},
        timeout=30,
    )
    response.raise_for_status()
    return cookie_header(response.cookies)


def portal_cookie(url: str, who: dict) -> str:
    """Kristin through the portal's login form: CSRF token, password, TOTP."""
    page = requests.get(f"{url}/portal/login", timeout=30)
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
    if csrf is None:
        raise RuntimeError("no CSRF token on the portal's login page")
    response = requests.post(
        f"{url}/portal/login",
        data={
            "csrf_token": csrf.group(1),
            "username": who["username"],
            "password": who["password"],
            "totp": pyotp.TOTP(who["totp_secret"]).now(),
            "next": "",
        },
        headers={"Cookie": cookie_header(page.cookies)},
        allow_redirects=False,
        timeout=30,
    )
    if response.status_code != 302:
        raise RuntimeError(f"portal sign-in answered {response.status_code}")
    return cookie_header(page.cookies, response.cookies)


def ask_for_a_call(url: str, kari: dict) -> None:
    token = requests.post(
        f"{url}/api/v1/auth/token",
        json={"username": kari["username"], "password": kari["password"]},
        timeout=30,
    ).json()["access_token"]
    response = requests.post(
        f"{url}/api/v1/me/contact-requests",
        json={"kind": "call_me", "urgency": "crisis", "message": "får ikke sove"},
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())},
        timeout=30,
    )
    response.raise_for_status()


def lighthouse(url: str, cookie: str, desktop: bool, report: Path) -> dict:
    cmd = [
        str(LIGHTHOUSE),
        url,
        "--output=json",
        f"--output-path={report}",
        f"--only-categories={','.join(CATEGORIES)}",
        f"--chrome-flags={CHROME_FLAGS}",
        f"--extra-headers={json.dumps({'Cookie': cookie})}",
        "--quiet",
    ]
    if desktop:
        cmd.append("--preset=desktop")
    subprocess.run(  # noqa: S603 - lighthouse from tests/node
        cmd, cwd=ROOT, env={**os.environ, "CHROME_PATH": CHROME}, check=True, timeout=600
    )
    return json.loads(report.read_text(encoding="utf-8"))


def summary(lhr: dict) -> dict:
    """Scores 0-100, the main metrics, and each audit that did not pass (score < 1)."""
    audits = lhr["audits"]
    failing = {}
    for category in CATEGORIES:
        for ref in lhr["categories"][category]["auditRefs"]:
            audit = audits[ref["id"]]
            if audit.get("score") is not None and audit["score"] < 1:
                failing[ref["id"]] = {"category": category, "score": audit["score"], "title": audit["title"]}
    return {
        "final_url": lhr.get("finalDisplayedUrl") or lhr.get("finalUrl"),
        "scores": {c: round(lhr["categories"][c]["score"] * 100) for c in CATEGORIES},
        "metrics": {name: audits[key].get("displayValue", "") for key, name in METRICS.items()},
        "not_passed": failing,
        "runtime_error": lhr.get("runtimeError"),
    }


def median_of(runs: list[dict]) -> dict:
    """The run whose performance score is the median (the others' scores kept alongside)."""
    ordered = sorted(runs, key=lambda r: r["scores"]["performance"])
    chosen = dict(ordered[len(ordered) // 2])
    chosen["all_scores"] = [r["scores"] for r in runs]
    return chosen


def table(results: dict) -> str:
    lines = [
        "| page | form factor | performance | accessibility | best practices | SEO | FCP | LCP | TBT | CLS |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for page in results["pages"]:
        s, m = page["scores"], page["metrics"]
        lines.append(
            f"| {page['name']} | {page['form_factor']} | {s['performance']} | {s['accessibility']} | "
            f"{s['best-practices']} | {s['seo']} | {m['FCP']} | {m['LCP']} | {m['TBT']} | {m['CLS']} |"
        )
    lines.append("")
    lines.append(
        f"Lighthouse {results['lighthouse']}, {results['runs']} run(s) per page (median by performance), "
        f"{results['when'][:16].replace('T', ' ')} UTC, on {results['host']}, load average "
        f"{results['load_average'][0]} (Lighthouse's benchmark index {results['benchmark_index']}: "
        "a quiet desktop scores about 1,500-2,500; lower means the CPU-bound figures came out slower)."
    )
    return "\n".join(lines)


def update_readme(text: str) -> None:
    readme = README.read_text(encoding="utf-8")
    start, end = MARKERS
    if start not in readme:
        raise RuntimeError(f"{README} has no {start} marker")
    head, rest = readme.split(start, 1)
    _, tail = rest.split(end, 1)
    README.write_text(f"{head}{start}\n{text}\n{end}{tail}", encoding="utf-8")


def main() -> int:
    # A SIGTERM unwinds like Ctrl-C: the server is stopped and the temporary demo removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    OUT.mkdir(parents=True, exist_ok=True)
    if REPORTS:
        Path(REPORTS).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="muli-lighthouse-") as tmp:
        workdir = Path(tmp)
        (workdir / "instance").mkdir()
        port = free_port()
        env = environment(workdir, port)
        log("migrating and seeding the demo")
        flask(env, "db", "upgrade", "heads")
        seeded = flask(env, "muli", "seed-demo", "--json")
        logins = json.loads(seeded[seeded.index("{") :])
        kari = logins["patients"][0]
        kristin = next(s for s in logins["staff"] if s["username"] == "kristin")
        with Demo(env, port, workdir / "serve.log") as demo:
            ask_for_a_call(demo.url, kari)
            staff_cookie = portal_cookie(demo.url, kristin)
            pages = [
                ("app: home", "/app/", "mobile"),
                ("app: crisis plan", "/app/#/crisis", "mobile"),
                ("portal: on-call queue", "/portal/queue/", "desktop"),
                ("portal: patient page", f"/portal/patients/{kari['id']}", "desktop"),
            ]
            results = []
            version = ""
            benchmark: list[float] = []
            for name, path, form in pages:
                runs = []
                for n in range(RUNS):
                    log(f"{name} ({form}), run {n + 1} of {RUNS}")
                    cookie = patient_cookie(demo.url, kari) if form == "mobile" else staff_cookie
                    report = Path(REPORTS or workdir) / f"{re.sub(r'[^a-z]+', '-', name)}-{n + 1}.json"
                    lhr = lighthouse(demo.url + path, cookie, form == "desktop", report)
                    version = lhr["lighthouseVersion"]
                    benchmark.append(lhr["environment"]["benchmarkIndex"])
                    runs.append(summary(lhr))
                results.append({"name": name, "path": path, "form_factor": form, **median_of(runs)})
    load = os.getloadavg()  # the machine is shared: the performance scores move with its load
    output = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": f"{os.cpu_count()} CPUs, {sys.platform}",
        "load_average": [round(x, 1) for x in load],
        "lighthouse": version,
        "runs": RUNS,
        "benchmark_index": round(statistics.median(benchmark)),
        "pages": results,
    }
    (OUT / "lighthouse.json").write_text(json.dumps(output, indent=2, ensure_ascii=False) + "\n")
    text = table(output)
    update_readme(text)
    print(text)
    for page in results:
        for audit_id, audit in page["not_passed"].items():
            print(f"  {page['name']}: {audit['category']} {audit_id} ({audit['score']}): {audit['title']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
