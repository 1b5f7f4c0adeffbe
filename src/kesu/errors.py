"""The KesuError tree: a stable dotted code, the field concerned, an i18n key and an HTTP status.

Messages are rendered in the reader's language at the edge (API, console, CLI) from
`key` and `params`; the code never changes once published.
"""

from __future__ import annotations

from typing import Any


class KesuError(Exception):
    status = 400
    code = "kesu.error"

    def __init__(self, key: str, /, *, field: str | None = None, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.field = field
        self.params = params

    def __str__(self) -> str:  # English text for logs and tracebacks
        from kesu.i18n import pick, translate

        labels = {"zh_Hans", "zh_Hant", "en"}
        params = {
            k: pick(v, "en") if isinstance(v, dict) and v and set(v) <= labels else v
            for k, v in self.params.items()
        }
        return translate(self.key, "en", **{"field": self.field or "", **params})


class NotFound(KesuError):
    status = 404
    code = "kesu.not_found"


class MethodNotAllowed(KesuError):
    """An address that exists, asked with a method it does not take."""

    status = 405
    code = "kesu.method_not_allowed"


class Unauthenticated(KesuError):
    status = 401
    code = "kesu.unauthenticated"


class Forbidden(KesuError):
    """The actor may not do this (role, tier, scope or recusal)."""

    status = 403
    code = "kesu.forbidden"


class InvalidInput(KesuError):
    """A value breaks a rule (of the pack or of the field)."""

    status = 422
    code = "kesu.invalid"


class IllegalTransition(KesuError):
    """The command is not allowed in the complaint's current state."""

    status = 409
    code = "kesu.illegal_transition"


class StaleVersion(KesuError):
    status = 409
    code = "kesu.stale_version"


class TooManyAttempts(KesuError):
    """Locked out after repeated failures, or over a rate limit; params say how long."""

    status = 429
    code = "kesu.too_many_attempts"


class PolicyError(KesuError):
    """A policy pack file is invalid; params carry file, path and rule."""

    status = 422
    code = "kesu.policy_invalid"
