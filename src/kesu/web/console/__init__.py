"""The staff console at `/` (server-rendered pages for receivers, handlers and managers)."""
