"""Logs, metrics and health shared by the services."""
