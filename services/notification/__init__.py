"""Notification: email to responsible agencies and to citizens, once per cause."""
