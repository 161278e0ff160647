"""`python -m services.scheduling`: run the scheduling service (`--hosted FILE`: all it lists)."""

from services.scheduling.app import SchedulingSettings, create_app
from shared.runtime import main

main("scheduling", create_app, SchedulingSettings)
