"""`python -m services.scheduling`: run the scheduling service."""

from services.scheduling.app import SchedulingSettings, create_app
from shared.runtime import serve

settings = SchedulingSettings()
serve(create_app(settings), settings, "scheduling")
