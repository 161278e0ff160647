"""`python -m services.console`: run the console of one instance."""

from services.console.app import ConsoleSettings, create_app
from shared.runtime import serve

settings = ConsoleSettings()
serve(create_app(settings), settings, "console")
