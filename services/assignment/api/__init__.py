"""Assignment's HTTP API, one router per topic: opinions, conferences, figures."""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    from services.assignment.api import conferences, opinions, reports

    return [opinions.router, conferences.router, reports.router]
