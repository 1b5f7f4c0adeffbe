"""The peer: django-helpdesk from PyPI, in its own virtualenv, served by gunicorn on SQLite.

Nothing of it is copied into this repository: `ensure_venv()` pip-installs the pinned
release into `bench/.peer-venv` (git-ignored), and `project()` writes the settings the
peer notes describe (../shared/PEER-DJANGO-HELPDESK.md) into `bench/.peer/`. Two database
variants are measured: Django's default SQLite settings (rollback journal) and WAL mode
with IMMEDIATE transactions, which nearly doubles its ticket creation.

Load is authenticated with a logged-in session (cookie + CSRF header), not HTTP Basic:
Basic auth would run Django's 1,000,000-iteration password hash on every request and
measure the hash instead of the helpdesk.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
VENV = HERE / ".peer-venv"
PROJECT = HERE / ".peer"
PACKAGES = ["django-helpdesk==2.6.1", "gunicorn==27.0.1"]
USER, PASSWORD = "admin", "bench-admin-password"

SETTINGS = """
import os
BASE_DIR = os.path.dirname(os.path.abspath(__file__))
SECRET_KEY = "bench-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = [
    "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
    "django.contrib.sessions", "django.contrib.messages", "django.contrib.staticfiles",
    "django.contrib.sites", "django.contrib.humanize",
    "rest_framework",
    "helpdesk",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "urls"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
  "OPTIONS": {"context_processors": ["django.template.context_processors.request",
   "django.contrib.auth.context_processors.auth",
   "django.contrib.messages.context_processors.messages"]}}]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3",
                         "NAME": os.environ["BENCH_PEER_DB"]}}
if os.environ.get("BENCH_PEER_WAL") == "1":
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
USE_TZ = True
SITE_ID = 1
STATIC_URL = "/static/"
MEDIA_ROOT = os.path.join(BASE_DIR, "media")
LOGIN_URL = "helpdesk:login"
EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
HELPDESK_TEAMS_MODE_ENABLED = False
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
"""

URLS = """
from django.contrib import admin
from django.urls import include, path
urlpatterns = [
    path("admin/", admin.site.urls),
    path("helpdesk/", include("helpdesk.urls", namespace="helpdesk")),
]
"""

WSGI = """
import os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
from django.core.wsgi import get_wsgi_application
application = get_wsgi_application()
"""

# run inside the peer's venv with `python -c`: an admin, one queue, and N preloaded tickets
# (through the ORM in batches, each with the "Ticket Opened" follow-up creation writes)
PRELOAD = f'''
import sys, django
django.setup()
from django.contrib.auth.models import User
from helpdesk.models import Queue, Ticket, FollowUp
n = int(sys.argv[1])
User.objects.create_superuser("{USER}", "admin@example.com", "{PASSWORD}")
q = Queue.objects.create(title="Complaints", slug="complaints")
titles = [t.strip() for t in sys.stdin.read().split("\\n") if t.strip()]
batch = 1000
for start in range(0, n, batch):
    made = Ticket.objects.bulk_create([
        Ticket(title=titles[i % len(titles)][:200], queue=q, description=titles[i % len(titles)],
               submitter_email=f"c{{i}}@example.com", priority=3, status=1)
        for i in range(start, min(n, start + batch))
    ])
    FollowUp.objects.bulk_create([
        FollowUp(ticket=t, title="Ticket Opened", comment=t.description, public=True)
        for t in made
    ])
print("preloaded", Ticket.objects.count(), "queue", q.id)
'''


def python() -> Path:
    return VENV / "bin" / "python"


def ensure_venv() -> None:
    """Create the peer's virtualenv and install the pinned release (once)."""
    marker = VENV / ".bench-installed"
    if marker.exists() and marker.read_text() == " ".join(PACKAGES):
        return
    if not python().exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run(
        [str(python()), "-m", "pip", "install", "-q", *PACKAGES],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    marker.write_text(" ".join(PACKAGES))


def version() -> str:
    out = subprocess.run(
        [str(python()), "-c", "import django, helpdesk; print(django.get_version())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return f"django-helpdesk 2.6.1 (Django {out.stdout.strip()})"


def env(db: Path, wal: bool) -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": "settings",
        "PYTHONPATH": str(PROJECT),
        "BENCH_PEER_DB": str(db),
        "BENCH_PEER_WAL": "1" if wal else "0",
    }


def project(db: Path, wal: bool, tickets: int, titles: list[str]) -> None:
    """Write the Django project, migrate a fresh database and preload `tickets` tickets."""
    PROJECT.mkdir(parents=True, exist_ok=True)
    (PROJECT / "settings.py").write_text(SETTINGS)
    (PROJECT / "urls.py").write_text(URLS)
    (PROJECT / "wsgi.py").write_text(WSGI)
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    e = {**os.environ, **env(db, wal)}
    admin = VENV / "bin" / "django-admin"
    subprocess.run(
        [str(admin), "migrate", "--noinput"], env=e, check=True, stdout=subprocess.DEVNULL
    )
    subprocess.run(
        [str(python()), "-c", PRELOAD, str(tickets)],
        env=e,
        check=True,
        input="\n".join(titles),
        text=True,
        stdout=subprocess.DEVNULL,
    )


def argv(port: int, workers: int) -> list[str]:
    return [
        str(VENV / "bin" / "gunicorn"),
        "--workers",
        str(workers),
        "--timeout",
        "120",
        "--bind",
        f"127.0.0.1:{port}",
        "--chdir",
        str(PROJECT),
        "wsgi:application",
    ]


def login(base: str) -> dict[str, str]:
    """Log in once through the login form; the headers every load request then carries."""
    with httpx.Client(base_url=base, timeout=30) as client:
        page = client.get("/helpdesk/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        r = client.post(
            "/helpdesk/login/",
            data={"username": USER, "password": PASSWORD, "csrfmiddlewaretoken": token},
            headers={"Referer": base + "/helpdesk/login/"},
        )
        if r.status_code not in (200, 302) or "sessionid" not in client.cookies:
            raise RuntimeError(f"peer login failed: HTTP {r.status_code}")
        csrf, session = client.cookies["csrftoken"], client.cookies["sessionid"]
    return {"Cookie": f"sessionid={session}; csrftoken={csrf}", "X-CSRFToken": csrf}
