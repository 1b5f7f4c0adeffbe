"""The three ways a message leaves Kesu: SMTP e-mail, an HTTP POST of JSON (Kesu's own signed
webhook or a WeCom / DingTalk / Feishu group robot), and the SMS log (no SMS gateway exists:
the text is only recorded). Each sender returns the server's reply or raises `SendFailed`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import smtplib
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from kesu.notify.rules import Message
from kesu.privacy.rules import mask_phone

log = logging.getLogger("kesu.notify")

TIMEOUT_SECONDS = 10
TIMEOUT = timedelta(seconds=TIMEOUT_SECONDS)
SIGNATURE_HEADER = "X-Kesu-Signature"
TIMESTAMP_HEADER = "X-Kesu-Timestamp"


class SendFailed(Exception):
    """`permanent`: retrying cannot help (the address or the request is refused as such)."""

    def __init__(self, error: str, *, permanent: bool = False) -> None:
        super().__init__(error)
        self.permanent = permanent


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    sender: str
    user: str | None = None
    password: str | None = None
    starttls: bool = False


def send_email(
    config: SmtpConfig, *, to: str, message: Message, message_id: str, date: float
) -> str:
    """One plain-text UTF-8 e-mail. `message_id` is stable per outbox row, so a resend after
    a crash carries the same Message-ID and mail clients can show it once."""
    mail = EmailMessage()
    mail["From"] = config.sender
    mail["To"] = to
    mail["Subject"] = message.subject
    mail["Date"] = formatdate(date)
    mail["Message-ID"] = message_id
    mail.set_content(message.body)
    try:
        with smtplib.SMTP(config.host, config.port, timeout=TIMEOUT_SECONDS) as smtp:
            if config.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if config.user:
                smtp.login(config.user, config.password or "")
            smtp.send_message(mail)
            code, reply = smtp.noop()
    except smtplib.SMTPRecipientsRefused as exc:
        replies = list(exc.recipients.values())  # the address itself stays out of the log
        text = "; ".join(f"{code} {reply.decode(errors='replace')}" for code, reply in replies)
        permanent = min(code for code, _ in replies) >= 500
        raise SendFailed(f"recipient refused: {text}", permanent=permanent) from exc
    except smtplib.SMTPDataError as exc:
        raise SendFailed(
            f"message refused: {exc.smtp_code} {exc.smtp_error!r}", permanent=exc.smtp_code >= 500
        ) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise SendFailed(f"{type(exc).__name__}: {exc}") from exc
    return f"{code} {reply.decode(errors='replace')}"


def kesu_signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=` + hex HMAC-SHA256 over `timestamp.body` (the receiver recomputes it with the
    channel's secret and rejects old timestamps to stop replays)."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def post_webhook(
    *,
    kind: str,
    url: str,
    secret: str | None,
    message: Message,
    payload: dict[str, Any],
    delivery_id: int,
    timestamp: float,
) -> str:
    """POST the message in `kind`'s format; `payload` is Kesu's own JSON for `webhook`."""
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "Kesu"}
    text = f"{message.subject}\n{message.body}"
    if kind == "webhook":
        body = _json(payload)
        stamp = str(int(timestamp))
        headers["X-Kesu-Event"] = str(payload["event"])
        headers["X-Kesu-Delivery"] = str(delivery_id)
        headers[TIMESTAMP_HEADER] = stamp
        if secret:
            headers[SIGNATURE_HEADER] = kesu_signature(secret, stamp, body)
    elif kind == "wecom":
        body = _json({"msgtype": "text", "text": {"content": text}})
    elif kind == "dingtalk":
        body = _json({"msgtype": "text", "text": {"content": text}})
        if secret:
            stamp = str(int(timestamp * 1000))
            sign = dingtalk_sign(secret, stamp)
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode(
                {"timestamp": stamp, "sign": sign}
            )
    elif kind == "feishu":
        content: dict[str, Any] = {"msg_type": "text", "content": {"text": text}}
        if secret:
            stamp = str(int(timestamp))
            content = {"timestamp": stamp, "sign": feishu_sign(secret, stamp), **content}
        body = _json(content)
    else:
        raise SendFailed(f"unknown webhook kind {kind!r}", permanent=True)
    reply = _post(url, body, headers)
    if kind != "webhook":
        _check_robot_reply(reply)
    return reply


TRACKING_LINK = re.compile(r"(/portal/t/|%2Fportal%2Ft%2F)[^\s?#&]+", re.IGNORECASE)
"""A customer's signed tracking link: whoever holds it opens their complaint, like a password."""


def log_sms(*, phone: str, message: Message) -> str:
    """No SMS gateway: record the text that would have been sent. The log and the attempt's
    record are read by operators: the number shows its last four digits, like to staff, and a
    tracking link its address without the customer's signed token."""
    body = TRACKING_LINK.sub(r"\1…", message.body)
    log.info("sms-log to %s: %s", mask_phone(phone), body)
    return body


def _json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def dingtalk_sign(secret: str, timestamp_ms: str) -> str:
    """DingTalk 加签: base64 HMAC-SHA256 keyed by the secret over "timestamp\nsecret"."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


def feishu_sign(secret: str, timestamp: str) -> str:
    """Feishu 签名校验: base64 HMAC-SHA256 keyed by "timestamp\nsecret" over nothing."""
    digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


def _post(url: str, body: bytes, headers: dict[str, str]) -> str:
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise SendFailed(f"not an http(s) URL: {url}", permanent=True)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return f"{response.status} {response.read(2000).decode(errors='replace')}"
    except urllib.error.HTTPError as exc:
        detail = exc.read(500).decode(errors="replace")
        permanent = 400 <= exc.code < 500 and exc.code not in (408, 425, 429)
        raise SendFailed(f"HTTP {exc.code}: {detail}", permanent=permanent) from exc
    except (urllib.error.URLError, OSError) as exc:
        raise SendFailed(f"{type(exc).__name__}: {exc}") from exc


def _check_robot_reply(reply: str) -> None:
    """The robots answer HTTP 200 with an error code in the JSON (errcode / code)."""
    _, _, text = reply.partition(" ")
    try:
        data = json.loads(text)
    except ValueError:
        return
    if not isinstance(data, dict):
        return
    code = data.get("errcode", data.get("code", data.get("StatusCode", 0)))
    if code not in (0, None):
        raise SendFailed(f"robot refused: {text}")
