"""The customer's signed tracking link (专属查询链接): the portal opens a complaint by it, and
customer messages carry it when the deployment says where it is reachable (KESU_PUBLIC_URL)."""

from __future__ import annotations

from urllib.parse import quote

from itsdangerous import BadSignature, URLSafeTimedSerializer

from kesu.i18n import normalise
from kesu.settings import Settings

LINK_DAYS = 365
"""How long a link opens its complaint."""


def _signer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt="kesu.portal.track")


def path(settings: Settings, complaint_id: int) -> str:
    return f"/portal/t/{_signer(settings).dumps(complaint_id)}"


def link(settings: Settings, complaint_id: int, locale: str | None = None) -> str | None:
    """The whole link, or None where no public address is set. For a reader of another
    language than the deployment's default, it passes the language switch first, so the
    portal opens (and stays) in their language."""
    if not settings.public_url:
        return None
    base, own = settings.public_url.rstrip("/"), path(settings, complaint_id)
    if locale is None or normalise(locale) == normalise(settings.default_locale):
        return base + own
    return f"{base}/lang/{normalise(locale)}?next={quote(own, safe='')}"


def complaint_id(settings: Settings, token: str) -> int | None:
    """The complaint a token opens; None for a forged, altered or expired one."""
    try:
        found = _signer(settings).loads(token, max_age=LINK_DAYS * 86400)
    except BadSignature:
        return None
    return found if isinstance(found, int) else None
