"""A SAML 2.0 identity provider for the tests: pysaml2's `Server` in an HTTP process of its own, on loopback.

`python -m tests.saml_idp` serves on 127.0.0.1 (a free port, printed on its first line of output):
- `GET /metadata`: its metadata (entity id, SSO endpoint for HTTP-Redirect, signing certificate);
- `POST /sps`: an SP's metadata XML, which it trusts from then on (what an IdP's administrator uploads);
- `GET /sso`: an AuthnRequest (HTTP-Redirect binding, its signature checked) answered with a sign-in form;
- `POST /sso`: the form (account, and a `defect` a test asks for) answered with a page that posts a signed
  Response to the SP's ACS (HTTP-POST binding), as a real IdP's page would in the browser.
Defects make the Response an attacker could bring: `unsigned` (no signature), `other-key` (signed by a key that is
not in the metadata), `wrong-audience` (issued to another SP), `wrong-destination` (addressed to another ACS),
`expired` (NotOnOrAfter ten minutes ago).
"""

from __future__ import annotations

import base64
import html
import socket
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import PIPE, Popen
from typing import Any

import httpx
import uvicorn
from saml2 import BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import AUTHN_PASSWORD_PROTECTED, NAME_FORMAT_URI, NAMEID_FORMAT_PERSISTENT, NameID
from saml2.server import Server
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from nixflow.services.saml_sp import KeyPair, generate_keys

ACCOUNTS: dict[str, dict[str, list[str]]] = {
    "alice": {"mail": ["alice@idp.example"], "displayName": ["Alice Agent"], "groups": ["staff", "helpdesk-agents"]},
    "adam": {"mail": ["adam@idp.example"], "displayName": ["Adam Admin"], "groups": ["helpdesk-admins"]},
    "rita": {"mail": ["rita@idp.example"], "displayName": ["Rita Requester"], "groups": ["staff"]},
}
DEFECTS = ("", "unsigned", "other-key", "wrong-audience", "wrong-destination", "expired")
REQUEST_PARAMETERS = ("SAMLRequest", "RelayState", "SigAlg", "Signature")
OTHER_SP = "https://other-sp.example/metadata"


@dataclass
class Idp:
    """The IdP's state: its URL, its keys, and the SPs it trusts."""

    url: str
    folder: Path
    keys: dict[str, tuple[str, str]] = field(default_factory=dict)
    sps: dict[str, str] = field(default_factory=dict)  # entity id -> metadata

    def key_files(self, name: str) -> tuple[str, str]:
        if name not in self.keys:
            pair: KeyPair = generate_keys(f"test idp {name}")
            key, cert = self.folder / f"{name}.key", self.folder / f"{name}.crt"
            key.write_text(pair.private_key)
            cert.write_text(pair.certificate)
            self.keys[name] = (str(key), str(cert))
        return self.keys[name]

    def config(self, *, key: str = "idp", lifetime_minutes: int = 5) -> IdPConfig:
        key_file, cert_file = self.key_files(key)
        settings: dict[str, Any] = {
            "entityid": f"{self.url}/metadata",
            "key_file": key_file,
            "cert_file": cert_file,
            "xmlsec_binary": "/usr/bin/xmlsec1",
            "service": {
                "idp": {
                    "endpoints": {"single_sign_on_service": [(f"{self.url}/sso", BINDING_HTTP_REDIRECT)]},
                    "want_authn_requests_signed": True,
                    "policy": {"default": {"lifetime": {"minutes": lifetime_minutes}, "name_form": NAME_FORMAT_URI}},
                }
            },
        }
        if self.sps:
            # The last SP also as "another SP" with the same endpoints: what the IdP issues to it is not for ours.
            latest = list(self.sps.values())[-1]
            settings["metadata"] = {"inline": [*self.sps.values(), _with_entity_id(latest, OTHER_SP)]}
        config = IdPConfig()
        config.load(settings)
        return config

    def server(self, defect: str) -> Server:
        key = "other" if defect == "other-key" else "idp"
        return Server(config=self.config(key=key, lifetime_minutes=-10 if defect == "expired" else 5))


def _entity_id(metadata: str) -> tuple[int, int]:
    start = metadata.index('entityID="') + len('entityID="')
    return start, metadata.index('"', start)


def _with_entity_id(metadata: str, entity_id: str) -> str:
    start, end = _entity_id(metadata)
    return metadata[:start] + entity_id + metadata[end:]


def app(idp: Idp) -> Starlette:
    async def metadata(request: Request) -> Response:
        xml = create_metadata_string(None, idp.config(), valid=None).decode()
        return Response(xml, media_type="application/samlmetadata+xml")

    async def add_sp(request: Request) -> Response:
        metadata = (await request.body()).decode()
        start, end = _entity_id(metadata)
        idp.sps.pop(metadata[start:end], None)  # a new key pair for the same SP replaces the old one
        idp.sps[metadata[start:end]] = metadata
        return Response(status_code=204)

    async def sso_form(request: Request) -> Response:
        q = request.query_params
        _authn_request(idp.server(""), q)  # refuses an unsigned or wrongly signed request
        hidden = "".join(_hidden(k, q[k]) for k in REQUEST_PARAMETERS if k in q)
        accounts = "".join(f'<option value="{a}">{a}</option>' for a in ACCOUNTS)
        defects = "".join(f'<option value="{d}">{d or "none"}</option>' for d in DEFECTS)
        return HTMLResponse(
            f'<form method="post">{hidden}<label>Account <select name="user">{accounts}</select></label>'
            f'<label>Defect <select name="defect">{defects}</select></label><button>Sign in</button></form>'
        )

    async def sso_answer(request: Request) -> Response:
        form = await request.form()
        user, defect = str(form["user"]), str(form.get("defect", ""))
        server = idp.server(defect)
        authn = _authn_request(server, {k: str(v) for k, v in form.items()})
        args = server.response_args(authn)
        response = server.create_authn_response(
            ACCOUNTS[user],
            in_response_to=args["in_response_to"],
            destination="https://elsewhere.example/acs" if defect == "wrong-destination" else args["destination"],
            sp_entity_id=OTHER_SP if defect == "wrong-audience" else args["sp_entity_id"],
            name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text=f"{user}-subject"),
            authn={"class_ref": AUTHN_PASSWORD_PROTECTED, "authn_auth": f"{idp.url}/metadata"},
            sign_assertion=defect != "unsigned",
            sign_response=False,
        )
        saml_response = base64.b64encode(str(response).encode()).decode()
        fields = _hidden("SAMLResponse", saml_response) + _hidden("RelayState", str(form.get("RelayState", "")))
        return HTMLResponse(
            f'<form method="post" action="{html.escape(args["destination"])}">{fields}<button>Continue</button></form>'
            "<script>document.forms[0].submit()</script>"
        )

    routes = [
        Route("/metadata", metadata),
        Route("/sps", add_sp, methods=["POST"]),
        Route("/sso", sso_form, methods=["GET"]),
        Route("/sso", sso_answer, methods=["POST"]),
    ]
    return Starlette(routes=routes)


def _authn_request(server: Server, params: Mapping[str, str]) -> Any:
    """The AuthnRequest in `params` (HTTP-Redirect binding), its signature checked against the SP's metadata."""
    return server.parse_authn_request(
        params["SAMLRequest"],
        BINDING_HTTP_REDIRECT,
        relay_state=params.get("RelayState"),
        sigalg=params.get("SigAlg"),
        signature=params.get("Signature"),
    ).message


def _hidden(name: str, value: str) -> str:
    return f'<input type="hidden" name="{name}" value="{html.escape(value)}">'


def main() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)  # requests wait in the backlog until uvicorn accepts them
    idp = Idp(url=f"http://127.0.0.1:{sock.getsockname()[1]}", folder=Path(tempfile.mkdtemp(prefix="nixflow-idp-")))
    print(idp.url, flush=True)
    uvicorn.Server(uvicorn.Config(app(idp), log_level="warning")).run(sockets=[sock])


@dataclass
class RunningIdp:
    url: str

    def trust(self, sp_metadata: str) -> None:
        """Upload an SP's metadata to the IdP."""
        httpx.post(f"{self.url}/sps", content=sp_metadata.encode(), timeout=30).raise_for_status()

    def metadata(self) -> str:
        return httpx.get(f"{self.url}/metadata", timeout=30).raise_for_status().text


@contextmanager
def running_idp() -> Iterator[RunningIdp]:
    """The IdP in a process of its own until the block ends."""
    process = Popen([sys.executable, "-m", "tests.saml_idp"], stdout=PIPE, text=True)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"the test IdP did not start (exit code {process.wait(timeout=30)})")
        yield RunningIdp(url)
    finally:
        process.terminate()
        process.wait(timeout=30)


if __name__ == "__main__":
    main()
