"""A small OpenID Connect issuer for the tests, built on the real JOSE library (joserfc): discovery,
an authorization endpoint that signs the test's person in at once, a token endpoint that checks the
client, the code and the PKCE verifier, and the published keys. It runs as a real HTTP server."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import uvicorn
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route

from deploy.localstack.processes import free_port, wait_until


@dataclass
class Issuer:
    client_id: str
    client_secret: str
    person: dict[str, Any]  # the claims of whoever signs in (sub, email, name)
    port: int = field(default_factory=free_port)
    wrong_nonce: bool = False
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig"}))
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def app(self) -> Starlette:
        async def discovery(_: Request) -> JSONResponse:
            return JSONResponse(
                {
                    "issuer": self.url,
                    "authorization_endpoint": f"{self.url}/authorize",
                    "token_endpoint": f"{self.url}/token",
                    "jwks_uri": f"{self.url}/jwks",
                    "response_types_supported": ["code"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                }
            )

        async def authorize(request: Request) -> RedirectResponse:
            q = request.query_params
            assert q["client_id"] == self.client_id and q["code_challenge_method"] == "S256"
            code = secrets.token_urlsafe(16)
            self.codes[code] = {"nonce": q["nonce"], "challenge": q["code_challenge"], "redirect": q["redirect_uri"]}
            return RedirectResponse(f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q['state']})}", 302)

        async def token(request: Request) -> JSONResponse:
            form = await request.form()
            user, _, password = base64.b64decode(request.headers["authorization"].split()[1]).decode().partition(":")
            grant = self.codes.pop(str(form["code"]), None)
            verifier = str(form.get("code_verifier", ""))
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if (
                (user, password) != (self.client_id, self.client_secret)
                or grant is None
                or digest != grant["challenge"]
            ):
                return JSONResponse({"error": "invalid_grant"}, 400)
            now = int(time.time())
            claims = {
                **self.person,
                "iss": self.url,
                "aud": self.client_id,
                "iat": now,
                "exp": now + 300,
                "nonce": "khac" if self.wrong_nonce else grant["nonce"],
            }
            id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, self.key)
            return JSONResponse({"access_token": "x", "token_type": "Bearer", "id_token": id_token})

        async def jwks(_: Request) -> JSONResponse:
            return JSONResponse({"keys": [self.key.as_dict(private=False)]})

        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", discovery),
                Route("/authorize", authorize),
                Route("/token", token, methods=["POST"]),
                Route("/jwks", jwks),
            ]
        )


@contextlib.contextmanager
def running_issuer(issuer: Issuer) -> Iterator[Issuer]:
    server = uvicorn.Server(uvicorn.Config(issuer.app(), host="127.0.0.1", port=issuer.port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, 10, 0.05, "the OIDC issuer")
    try:
        yield issuer
    finally:
        server.should_exit = True
        thread.join(10)
