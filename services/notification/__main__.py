"""`python -m services.notification`: run the notification service."""

from services.notification.app import NotificationSettings, create_app
from shared.runtime import serve

settings = NotificationSettings()
serve(create_app(settings), settings, "notification")
