"""Every door's (API, console, portal) protective headers and request-size limits, as pure
ASGI middleware (no task or stream per request, unlike `BaseHTTPMiddleware`).

Security headers go on every response, the application's and the 413 below, unless the
application set that header itself.

Request-size limits, before anything is parsed:
A body larger than the limit gets 413 and never reaches the application: `Content-Length`
is checked up front, and a body sent without one (chunked) is counted as it arrives.
Multipart bodies (evidence uploads) may be as large as the upload limit plus form overhead;
every other body at most `JSON_BYTES`.
"""

from __future__ import annotations

import json
from typing import Any

from kesu.i18n import negotiate, translate

JSON_BYTES = 1024 * 1024
HSTS = "max-age=31536000; includeSubDomains"
"""Sent in production (KESU_ENVIRONMENT=production), where Kesu is served over HTTPS."""

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; frame-ancestors 'none'; object-src 'none'; base-uri 'self'; "
        "form-action 'self'"
    ),
}


class SecurityHeaders:
    """Pure ASGI middleware: `SECURITY_HEADERS` (and HSTS in production) on every response."""

    def __init__(self, app: Any, *, production: bool) -> None:
        self.app = app
        headers = {
            **SECURITY_HEADERS,
            **({"Strict-Transport-Security": HSTS} if production else {}),
        }
        self.headers = [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()
        ]

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", ())}
                extra = [(k, v) for k, v in self.headers if k not in present]
                if extra:
                    message = {**message, "headers": [*message.get("headers", ()), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimit:
    """Pure ASGI middleware: 413 for a request body over its limit."""

    def __init__(self, app: Any, *, upload_bytes: int, json_bytes: int = JSON_BYTES) -> None:
        self.app = app
        self.upload_bytes = upload_bytes
        self.json_bytes = json_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        multipart = headers.get("content-type", "").startswith("multipart/form-data")
        limit = self.upload_bytes if multipart else self.json_bytes
        locale = negotiate(headers.get("accept-language"))
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _too_large(send, limit, locale)
            return
        seen = 0
        refused = False

        async def counted_receive():
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit and not refused:
                    refused = True
                    await _too_large(send, limit, locale)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message):
            if not refused:  # our 413 went out: whatever the app answers is dropped
                await send(message)

        await self.app(scope, counted_receive, guarded_send)


async def _too_large(send, limit: int, locale: str) -> None:
    body = json.dumps(
        {
            "error": {
                "code": "kesu.too_large",
                "key": "invalid.body_too_large",
                "message": translate("invalid.body_too_large", locale, max_mb=limit // 1048576),
                "field": None,
            }
        },
        ensure_ascii=False,
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-content-type-options", b"nosniff"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
