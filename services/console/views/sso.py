"""Single sign-on through OpenID Connect, for provinces that run an identity provider (optional).

The authorization code flow with PKCE: the console sends the person to the issuer with a state and a
nonce kept server-side; on their return it exchanges the code for tokens and verifies the ID token
(signature against the issuer's published keys, issuer, audience, expiry, nonce) with joserfc, the
JOSE library of the Authlib project. The person must already have an account here (matched by the
issuer's subject, or on first use by e-mail): the roles and scope are the instance's decision, not the
identity provider's.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from base64 import urlsafe_b64encode
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from services.console.views.account import _next, set_session_cookie
from services.console.web import address, redirect, render

router = APIRouter()
PENDING = timedelta(minutes=10)
_discovery: dict[str, tuple[float, dict[str, Any]]] = {}


async def _metadata(issuer: str) -> dict[str, Any]:
    cached = _discovery.get(issuer)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.get(f"{issuer.rstrip('/')}/.well-known/openid-configuration")
        response.raise_for_status()
        metadata = response.json()
    if metadata.get("issuer", "").rstrip("/") != issuer.rstrip("/"):
        raise ValueError(f"the issuer's metadata names another issuer: {metadata.get('issuer')!r}")
    _discovery[issuer] = (time.monotonic() + 3600, metadata)
    return metadata


def _refused(request: Request, message: str, status: int = 403) -> HTMLResponse:
    return render(request, "error.html.j2", status, title="Chưa đăng nhập được", message=message)


@router.get("/dang-nhap/sso")
async def start(request: Request, tiep: str = "/lam-viec") -> Response:
    settings = request.app.state.settings
    if not settings.oidc_issuer or not settings.oidc_client_id:
        return _refused(request, "Đơn vị chưa cấu hình đăng nhập một lần (SSO).", 404)
    metadata = await _metadata(settings.oidc_issuer)
    state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
    challenge = urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    now = request.app.state.clock.now()
    await request.app.state.sso_pending.insert_one(
        {"_id": state, "nonce": nonce, "verifier": verifier, "next": _next(tiep), "expires_at": now + PENDING}
    )
    query = urlencode(
        {
            "response_type": "code",
            "client_id": settings.oidc_client_id,
            "redirect_uri": f"{settings.public_url.rstrip('/')}/dang-nhap/sso/ve",
            "scope": "openid email profile",
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    return redirect(f"{metadata['authorization_endpoint']}?{query}")


@router.get("/dang-nhap/sso/ve")
async def back(request: Request, code: str = "", state: str = "", error: str = "") -> Response:
    app = request.app.state
    settings, now = app.settings, app.clock.now()
    pending = await app.sso_pending.find_one_and_delete({"_id": state}) if state else None
    if error or pending is None or pending["expires_at"] <= now or not code:
        return _refused(request, "Phiên đăng nhập một lần đã hết hạn hoặc không hợp lệ; hãy đăng nhập lại.")
    metadata = await _metadata(settings.oidc_issuer)
    secret = settings.oidc_client_secret.get_secret_value() if settings.oidc_client_secret else ""
    async with httpx.AsyncClient(timeout=10) as http:
        token_response = await http.post(
            metadata["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": f"{settings.public_url.rstrip('/')}/dang-nhap/sso/ve",
                "code_verifier": pending["verifier"],
            },
            auth=(settings.oidc_client_id, secret),
        )
        keys = KeySet.import_key_set((await http.get(metadata["jwks_uri"])).json())
    if token_response.status_code != 200 or "id_token" not in token_response.json():
        return _refused(request, "Nhà cung cấp đăng nhập không xác nhận được phiên này; hãy thử lại.")
    try:
        token = jwt.decode(token_response.json()["id_token"], keys)
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": metadata["issuer"]},
            aud={"essential": True, "value": settings.oidc_client_id},
            sub={"essential": True},
            exp={"essential": True},
            nonce={"essential": True, "value": pending["nonce"]},
            leeway=60,
        ).validate(token.claims)
    except (JoseError, ValueError):
        return _refused(request, "Thẻ đăng nhập của nhà cung cấp không hợp lệ; hãy thử lại.")
    subject, email = str(token.claims["sub"]), token.claims.get("email")
    account = await app.accounts.by_oidc(subject, str(email) if email else None)
    if account is None or not account.active:
        return _refused(
            request,
            "Tài khoản đăng nhập một lần này chưa được cấp quyền ở đơn vị; "
            f"nhờ quản trị thêm người dùng với email {email or '(không có)'}.",
        )
    if account.oidc_subject is None:
        await app.accounts.update(account.username, {"oidc_subject": subject})
    session_token, _ = await app.sessions.open(account.username, now, via="oidc", address=address(request))
    response = redirect(pending["next"])
    set_session_cookie(request, response, session_token)
    return response
