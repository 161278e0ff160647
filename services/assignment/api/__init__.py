"""Assignment's HTTP API, one router per topic: opinions, photos sent up with them, conferences, figures."""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    from services.assignment.api import conferences, media, opinions, reports

    return [opinions.router, media.router, conferences.router, reports.router]
