"""The console's pages, one module per group of people who use them."""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    from services.console.views import account, agency, conferences, operator, opinions, public, sso

    return [
        public.router,
        account.router,
        sso.router,
        opinions.router,
        conferences.router,
        agency.router,
        operator.router,
    ]
