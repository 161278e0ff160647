"""`python -m services.console`: run the console of one instance (`--hosted FILE`: all it lists)."""

from services.console.app import ConsoleSettings, create_app
from shared.runtime import main

main("console", create_app, ConsoleSettings)
