"""`python -m services.notification`: run the notification service (`--hosted FILE`: all it lists)."""

from services.notification.app import NotificationSettings, create_app
from shared.runtime import main

main("notification", create_app, NotificationSettings)
