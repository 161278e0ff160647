"""`python -m services.assignment`: run the assignment service (`--hosted FILE`: all it lists)."""

from services.assignment.app import AssignmentSettings, create_app
from shared.runtime import main

main("assignment", create_app, AssignmentSettings)
