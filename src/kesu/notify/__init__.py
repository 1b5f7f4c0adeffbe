"""Notifications: the outbox, its delivery (e-mail, webhooks, SMS log) and channel config."""
