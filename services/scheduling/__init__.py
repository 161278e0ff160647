"""Scheduling: the answer deadline as durable timers; reminders and overdue events."""
