"""A small real OAuth2 authorization server for the mail tests, run as a service by scripts/services.sh.

Authorization code with PKCE (S256, checked with authlib), refresh tokens, RFC 7662 introspection (Dovecot's
`oauth2` passdb and the test SMTP server ask it whether a token is good), RFC 7009 revocation (a revoked grant
answers `invalid_grant`), RFC 8414 metadata, and client registration (each test registers its own client).
Its consent screen is a form: the person types who they are and allows. State lives in this process.

    python -m tests.oauth_server --port 14350 --introspection-secret S
"""

from __future__ import annotations

import argparse
import base64
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

import uvicorn
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

INTROSPECTION_CLIENT = "dovecot"


@dataclass
class Client:
    secret: str
    redirect_uris: list[str]
    access_seconds: int


@dataclass
class Grant:
    client_id: str
    username: str
    scope: str
    revoked: bool = False
    access_tokens: set[str] = field(default_factory=set)


@dataclass
class Access:
    grant: Grant
    expires_at: float
    revoked: bool = False


@dataclass
class Code:
    client_id: str
    redirect_uri: str
    username: str
    scope: str
    challenge: str
    expires_at: float


class Provider:
    def __init__(self, issuer: str, introspection_secret: str) -> None:
        self.issuer = issuer
        self.introspection_secret = introspection_secret
        self.clients: dict[str, Client] = {}
        self.codes: dict[str, Code] = {}
        self.refresh: dict[str, Grant] = {}
        self.access: dict[str, Access] = {}
        self.refreshes = 0

    def client(self, request: Request, form: dict[str, str]) -> tuple[str, Client] | None:
        """The client a token request authenticates as (HTTP Basic or form fields)."""
        header = request.headers.get("authorization", "")
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if header.lower().startswith("basic "):
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        known = self.clients.get(client_id)
        if known is None or not secrets.compare_digest(known.secret, secret):
            return None
        return client_id, known

    def issue(self, grant: Grant, client: Client, refresh_token: str) -> dict[str, object]:
        token = secrets.token_urlsafe(24)
        self.access[token] = Access(grant, time.time() + client.access_seconds)
        grant.access_tokens.add(token)
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": client.access_seconds,
            "refresh_token": refresh_token,
            "scope": grant.scope,
        }


def _error(error: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": error}, status_code=status)


def build(provider: Provider) -> Starlette:
    async def metadata(request: Request) -> JSONResponse:
        base = provider.issuer
        return JSONResponse(
            {
                "issuer": base,
                "authorization_endpoint": f"{base}/authorize",
                "token_endpoint": f"{base}/token",
                "introspection_endpoint": f"{base}/introspect",
                "revocation_endpoint": f"{base}/revoke",
                "registration_endpoint": f"{base}/register",
                "code_challenge_methods_supported": ["S256"],
                "grant_types_supported": ["authorization_code", "refresh_token"],
            }
        )

    async def register(request: Request) -> JSONResponse:
        body = await request.json()
        client_id, secret = f"client-{secrets.token_hex(6)}", secrets.token_urlsafe(16)
        seconds = int(body.get("access_token_seconds", 3600))
        provider.clients[client_id] = Client(secret, list(body["redirect_uris"]), seconds)
        return JSONResponse({"client_id": client_id, "client_secret": secret}, status_code=201)

    async def consent(request: Request) -> Response:
        """The consent screen: who are you, and do you allow this client to read your mail?"""
        params = dict(request.query_params)
        client = provider.clients.get(params.get("client_id", ""))
        if client is None or params.get("redirect_uri") not in client.redirect_uris:
            return HTMLResponse("unknown client or redirect_uri", status_code=400)
        if params.get("response_type") != "code" or params.get("code_challenge_method") != "S256":
            return HTMLResponse("only response_type=code with PKCE S256", status_code=400)
        hidden = "".join(f'<input type="hidden" name="{k}" value="{v}">' for k, v in params.items())
        return HTMLResponse(
            f'<form method="post" action="/authorize">{hidden}<input name="username">'
            f'<button name="decision" value="allow">Allow</button></form>'
        )

    async def decide(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        client = provider.clients.get(form.get("client_id", ""))
        if client is None or form.get("redirect_uri") not in client.redirect_uris:
            return HTMLResponse("unknown client or redirect_uri", status_code=400)
        answer: dict[str, str] = {"state": form.get("state", "")}
        if form.get("decision") != "allow":
            answer["error"] = "access_denied"
        else:
            code = secrets.token_urlsafe(16)
            provider.codes[code] = Code(
                form["client_id"],
                form["redirect_uri"],
                form["username"],
                form.get("scope", ""),
                form["code_challenge"],
                time.time() + 60,
            )
            answer["code"] = code
        return RedirectResponse(f"{form['redirect_uri']}?{urlencode(answer)}", status_code=302)

    async def token(request: Request) -> JSONResponse:
        form = {k: str(v) for k, v in (await request.form()).items()}
        authenticated = provider.client(request, form)
        if authenticated is None:
            return _error("invalid_client", 401)
        client_id, client = authenticated
        if form.get("grant_type") == "authorization_code":
            code = provider.codes.pop(form.get("code", ""), None)  # single use
            if code is None or code.client_id != client_id or code.expires_at < time.time():
                return _error("invalid_grant")
            if code.redirect_uri != form.get("redirect_uri"):
                return _error("invalid_grant")
            if create_s256_code_challenge(form.get("code_verifier", "")) != code.challenge:
                return _error("invalid_grant")
            grant = Grant(client_id, code.username, code.scope)
            refresh_token = secrets.token_urlsafe(24)
            provider.refresh[refresh_token] = grant
            return JSONResponse(provider.issue(grant, client, refresh_token))
        if form.get("grant_type") == "refresh_token":
            refresh_token = form.get("refresh_token", "")
            found = provider.refresh.get(refresh_token)
            if found is None or found.revoked or found.client_id != client_id:
                return _error("invalid_grant")
            provider.refreshes += 1
            return JSONResponse(provider.issue(found, client, refresh_token))
        return _error("unsupported_grant_type")

    async def introspect(request: Request) -> JSONResponse:
        form = {k: str(v) for k, v in (await request.form()).items()}
        caller = provider.client(request, form)
        header = request.headers.get("authorization", "")
        dovecot = base64.b64encode(f"{INTROSPECTION_CLIENT}:{provider.introspection_secret}".encode()).decode()
        if caller is None and not secrets.compare_digest(header, f"Basic {dovecot}"):
            return _error("invalid_client", 401)
        access = provider.access.get(form.get("token", ""))
        if access is None or access.revoked or access.grant.revoked or access.expires_at < time.time():
            return JSONResponse({"active": False})
        grant = access.grant
        return JSONResponse(
            {
                "active": True,
                "username": grant.username,
                "sub": grant.username,
                "scope": grant.scope,
                "client_id": grant.client_id,
                "exp": int(access.expires_at),
            }
        )

    async def revoke(request: Request) -> Response:
        """RFC 7009: a refresh token revokes its grant (and every access token of it); an access token, itself."""
        form = {k: str(v) for k, v in (await request.form()).items()}
        if provider.client(request, form) is None:
            return _error("invalid_client", 401)
        value = form.get("token", "")
        if (grant := provider.refresh.get(value)) is not None:
            grant.revoked = True
        elif (access := provider.access.get(value)) is not None:
            access.revoked = True
        return Response(status_code=200)

    async def stats(request: Request) -> JSONResponse:
        return JSONResponse({"refreshes": provider.refreshes})

    return Starlette(
        routes=[
            Route("/.well-known/oauth-authorization-server", metadata),
            Route("/.well-known/openid-configuration", metadata),
            Route("/register", register, methods=["POST"]),
            Route("/authorize", consent, methods=["GET"]),
            Route("/authorize", decide, methods=["POST"]),
            Route("/token", token, methods=["POST"]),
            Route("/introspect", introspect, methods=["POST"]),
            Route("/revoke", revoke, methods=["POST"]),
            Route("/stats", stats),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--introspection-secret", required=True)
    args = parser.parse_args()
    provider = Provider(f"http://127.0.0.1:{args.port}", args.introspection_secret)
    uvicorn.run(build(provider), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
