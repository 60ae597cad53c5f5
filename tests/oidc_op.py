"""A real OpenID Provider for the tests: oidc-provider (an OpenID-certified server, from
tests/node, installed by scripts/ensure-node-packages.sh) run by tests/node/oidc-op.mjs on
127.0.0.1, as an "ID-porten" and a "HelseID" in one node process.

ID-porten: public client, PKCE required, pushed authorization requests offered, `pid` and
`acr` in the ID token, levels idporten-loa-low/substantial/high. HelseID: the client
authenticates with private_key_jwt (MULI's key, made here), PAR required, DPoP enabled,
`helseid://claims/identity/pid`, `helseid://claims/hpr/hpr_number` and the security level.
The test keeps the providers' first signing keys, so it can sign a token no real provider
would issue (another issuer, an expired one, a rotated-out key) and have the provider hand
it out in place of its own (`next_id_token`, a hook only this test script has).
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import requests
from joserfc import jwt
from joserfc.jwk import RSAKey

NODE_DIR = Path(__file__).resolve().parent / "node"
IDPORTEN_LEVELS = ["idporten-loa-low", "idporten-loa-substantial", "idporten-loa-high"]
HELSEID_PID = "helseid://claims/identity/pid"
HELSEID_HPR = "helseid://claims/hpr/hpr_number"
HELSEID_LEVEL = "helseid://claims/identity/security_level"
HELSEID_SCOPES = [
    "helseid://scopes/identity/pid",
    "helseid://scopes/identity/security_level",
    "helseid://scopes/hpr/hpr_number",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def new_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "alg": "RS256", "use": "sig"})


@dataclass
class Issuer:
    name: str
    port: int
    key: RSAKey  # the first signing key (the test can sign with it)
    client_id: str
    accounts: list[dict]
    client_key: RSAKey | None = None  # MULI's private_key_jwt key (HelseID)
    http: requests.Session = field(default_factory=requests.Session)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rotate(self, key: RSAKey) -> None:
        """The provider publishes and signs with `key` only from now on."""
        self.http.post(
            self.url + "/__test/rotate", json={"keys": [key.as_dict(private=True)]}, timeout=10
        ).raise_for_status()

    def next_id_token(self, token: str) -> None:
        self.http.post(
            self.url + "/__test/next-id-token", json={"id_token": token}, timeout=10
        ).raise_for_status()

    def sign(self, claims: dict, key: RSAKey | None = None) -> str:
        key = key or self.key
        return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)

    def sign_in(self, authorize_url: str, account: str, *, acr: str | None = None, stop_at: str) -> str:
        """Go through the provider's login page as a browser would, choosing the synthetic
        `account` (by label) and level; answer the URL it redirects to under `stop_at`."""
        http = requests.Session()
        url = authorize_url
        for _ in range(10):
            response = http.get(url, allow_redirects=False, timeout=10)
            if response.status_code in (302, 303):
                url = urljoin(url, response.headers["Location"])
                if url.startswith(stop_at):
                    return url
                continue
            assert response.status_code == 200, (response.status_code, response.text[:500])
            action = re.search(r'<form method="post" action="([^"]+)"', response.text)
            assert action, response.text[:500]
            sub = next(a["sub"] for a in self.accounts if a["label"] == account)
            form = {"account": sub}
            if acr:
                form["acr"] = acr
            response = http.post(urljoin(url, action.group(1)), data=form, allow_redirects=False, timeout=10)
            assert response.status_code in (302, 303), (response.status_code, response.text[:500])
            url = urljoin(url, response.headers["Location"])
            if url.startswith(stop_at):
                return url
        raise AssertionError("the provider did not send the browser back")


def callback_args(url: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


class LocalProviders:
    """ID-porten and HelseID on loopback, from one node process; stopped at exit."""

    def __init__(
        self, redirect_bases: list[str], idporten_accounts: list[dict], helseid_accounts: list[dict]
    ):
        if not (NODE_DIR / "node_modules" / "oidc-provider").is_dir() or not shutil.which("node"):
            raise RuntimeError("oidc-provider is not installed: run scripts/ensure-node-packages.sh")
        self.muli_helseid_key = new_key("muli-helseid-1")
        self.idporten = Issuer("ID-porten", free_port(), new_key("idp-1"), "muli-app", idporten_accounts)
        self.helseid = Issuer(
            "HelseID", free_port(), new_key("hid-1"), "muli-portal", helseid_accounts, self.muli_helseid_key
        )
        self.redirect_bases = redirect_bases
        self.proc: subprocess.Popen | None = None
        self._dir = tempfile.TemporaryDirectory(prefix="muli-oidc-op-")

    def _config(self) -> dict:
        def uris(path: str) -> list[str]:
            return [base.rstrip("/") + path for base in self.redirect_bases]

        idporten = {
            "name": "ID-porten",
            "port": self.idporten.port,
            "keys": [self.idporten.key.as_dict(private=True)],
            "acr_values": IDPORTEN_LEVELS,
            "claims": ["pid", "acr"],
            "par": True,
            "clients": [
                {
                    "client_id": "muli-app",
                    "token_endpoint_auth_method": "none",
                    "redirect_uris": uris("/auth/idporten/callback"),
                    "post_logout_redirect_uris": uris("/app/"),
                    "grant_types": ["authorization_code"],
                    "response_types": ["code"],
                },
                {  # another service at the same provider (a token for it is not for MULI)
                    "client_id": "another-service",
                    "token_endpoint_auth_method": "none",
                    "redirect_uris": ["http://127.0.0.1:9/callback"],
                    "grant_types": ["authorization_code"],
                    "response_types": ["code"],
                },
            ],
            "accounts": self.idporten.accounts,
        }
        helseid = {
            "name": "HelseID",
            "port": self.helseid.port,
            "keys": [self.helseid.key.as_dict(private=True)],
            "acr_values": ["3", "4"],
            "default_acr": "4",
            "claims": [HELSEID_PID, HELSEID_HPR, HELSEID_LEVEL],
            "scopes": HELSEID_SCOPES,
            "par": True,
            "require_par": True,
            "dpop": True,
            "dpop_nonce": True,
            "clients": [
                {
                    "client_id": "muli-portal",
                    "token_endpoint_auth_method": "private_key_jwt",
                    "token_endpoint_auth_signing_alg": "RS256",
                    "dpop_bound_access_tokens": True,
                    "jwks": {"keys": [self.muli_helseid_key.as_dict(private=False)]},
                    "redirect_uris": uris("/portal/helseid/callback"),
                    "post_logout_redirect_uris": uris("/portal/login"),
                    "grant_types": ["authorization_code"],
                    "response_types": ["code"],
                }
            ],
            "accounts": self.helseid.accounts,
        }
        return {"providers": [idporten, helseid]}

    def __enter__(self) -> LocalProviders:
        path = Path(self._dir.name) / "op.json"
        path.write_text(json.dumps(self._config()))
        self.proc = subprocess.Popen(
            ["node", str(NODE_DIR / "oidc-op.mjs"), str(path)],
            cwd=NODE_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 30
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.strip() == "ready":
                return self
            if time.monotonic() > deadline:
                break
        self.__exit__()
        raise RuntimeError("the OpenID Provider did not start")

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            if self.proc.stdin is not None:
                self.proc.stdin.close()  # the script ends itself when its stdin closes
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.terminate()
                self.proc.wait(timeout=10)
            if self.proc.stdout is not None:
                self.proc.stdout.close()
            self.proc = None
        self.idporten.http.close()
        self.helseid.http.close()
        self._dir.cleanup()
