"""`python -m services.assignment`: run the assignment service."""

from services.assignment.app import AssignmentSettings, create_app
from shared.runtime import serve

settings = AssignmentSettings()
serve(create_app(settings), settings, "assignment")
