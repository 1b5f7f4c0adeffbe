"""Real servers on 127.0.0.1 for the notification tests: an SMTP server (aiosmtpd, optionally
with STARTTLS and AUTH, optionally refusing) and an HTTP server that records webhook POSTs."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import delete, update

from kesu.access.models import User
from kesu.db.session import transaction
from kesu.notify.models import Outbox


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """The aiosmtpd handler: keeps accepted messages; `data_reply` / `rcpt_reply` make it refuse."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.data_reply: str | None = None
        self.rcpt_reply: str | None = None
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_reply:
            return self.data_reply
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


@dataclass
class SmtpServer:
    host: str
    port: int
    mailbox: Mailbox


@pytest.fixture
def smtp_server():
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield SmtpServer("127.0.0.1", port, mailbox)
    controller.stop()


@pytest.fixture
def tls_files(tmp_path):
    """A self-signed certificate for 127.0.0.1, made here (nothing is downloaded)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@pytest.fixture
def tls_smtp_server(tls_files, monkeypatch):
    """STARTTLS required, then AUTH as kesu / s3cret; the client trusts the test certificate."""
    cert_file, key_file = tls_files
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))
    mailbox = Mailbox()
    logins: list[str] = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == b"kesu" and auth_data.password == b"s3cret"
        logins.append(f"{auth_data.login.decode()}:{'ok' if ok else 'refused'}")
        return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535

    port = free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=authenticator,
        auth_require_tls=True,
    )
    controller.start()
    server = SmtpServer("127.0.0.1", port, mailbox)
    server.logins = logins  # type: ignore[attr-defined]
    yield server
    controller.stop()


@dataclass
class Hook:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class WebhookServer:
    url: str
    received: list[Hook] = field(default_factory=list)
    status: int = 200
    reply: bytes = b'{"ok": true}'
    on_request: Callable[[], None] | None = None


@pytest.fixture
def webhook_server():
    state = WebhookServer(url="")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                state.received.append(Hook(self.path, dict(self.headers.items()), body))
            if state.on_request:
                state.on_request()
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(state.reply)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def smtp_settings(settings, smtp_server):
    return settings.model_copy(
        update={"smtp_host": smtp_server.host, "smtp_port": smtp_server.port}
    )


@pytest.fixture
def give_email(sessions, org):
    """give_email(username, address, locale=None) -> the user's id."""

    def give(username: str, address: str, locale: str | None = None) -> int:
        values: dict = {"email": address}
        if locale:
            values["locale"] = locale
        with transaction(sessions) as session:
            return session.execute(
                update(User).where(User.username == username).values(**values).returning(User.id)
            ).scalar_one()

    return give


@pytest.fixture
def complaint(sessions, clock, org):
    """A complaint at SH-NJ from 林女士 (phone and e-mail given): (id, complainant id). The
    outbox starts empty: the messages its intake queued (the customer's acknowledgement, the
    staff alerts) are removed, so each test sees only what it enqueues itself."""
    from helpers import complaint_body, receive

    contact = "微信 lin88，邮箱 lin@example.cn"
    person = {**complaint_body(org)["complainant"], "other_contact": contact}
    c = receive(sessions, clock, org, complainant=person)
    with transaction(sessions) as session:
        session.execute(delete(Outbox))
    return c.id, c.complainant_id
