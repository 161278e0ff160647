"""`python -m services.intake`: run the intake service (`--hosted FILE`: all it lists)."""

from services.intake.app import IntakeSettings, create_app
from shared.runtime import main

main("intake", create_app, IntakeSettings)
