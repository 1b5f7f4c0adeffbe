"""HTML pages shared by the staff console and the customer portal: templates, the reader's
language, CSRF tokens and errors rendered as pages.

CSRF: every form carries `csrf`, an HMAC (keyed by the secret) of the cookie that identifies
the browser — the staff session cookie when logged in, otherwise a random anonymous cookie —
so a token is worth nothing without that browser's cookie (double submit, signed).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.exc import DataError, StatementError
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException

from kesu.calendar.workdays import deadline_text
from kesu.errors import Forbidden, KesuError, MethodNotAllowed, NotFound
from kesu.i18n import LANGUAGES, LOCALES, normalise, pick, translate
from kesu.web import errors as api_errors

SESSION_COOKIE = "kesu_session"
ANON_COOKIE = "kesu_anon"
LANG_COOKIE = "kesu_lang"
STATIC_DIR = Path(__file__).parent / "static"
VENDOR = {
    "htmx": "vendor/htmx.min.js",
    "echarts": "vendor/echarts.min.js",
    "swagger-ui": "vendor/swagger-ui-bundle.js",  # /api/v1/docs
}


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("kesu.web", "templates"),
        autoescape=select_autoescape(["html"], default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["quote"] = lambda s: quote(str(s), safe="/")
    return env


templates = Jinja2Templates(env=_environment())


def vendor_present() -> dict[str, bool]:
    """Which third-party assets the set-up command has copied in (pages work without them)."""
    return {name: (STATIC_DIR / path).is_file() for name, path in VENDOR.items()}


# --- language -------------------------------------------------------------------------------


def new_submission() -> str:
    """A form's own submission id (hidden in forms that make something: a complaint, a
    corrective action, accountability records; see `form_key`)."""
    return secrets.token_urlsafe(16)


def form_key(form: FormData) -> str | None:
    """The key of a form's submission (`complaint.service.claim_submission`): its hidden
    submission id and what was typed. Sent again unchanged, by a second click or a browser's
    resend, it is the same submission and makes nothing more; changed after going back to
    the form, it is a new submission, not a reused key to refuse."""
    given = form.get("submission")
    if not isinstance(given, str) or not given.strip():
        return None
    typed = sorted(
        (k, v)
        for k, v in form.multi_items()
        if isinstance(v, str) and k not in ("csrf", "submission")
    )
    digest = hashlib.sha256(json.dumps(typed, ensure_ascii=False).encode()).hexdigest()
    return f"{given.strip()[:60]}:{digest[:32]}"


def page_locale(request: Request) -> str:
    """The language switch's choice (a cookie), else the deployment's default (zh-CN)."""
    chosen = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    if chosen and normalise(chosen) in LOCALES:
        return normalise(chosen)
    return normalise(request.app.state.settings.default_locale)


NEXT_MAX = 300
"""The longest `next` the sign-in page takes (the page to return to after signing in)."""


def local_path(target: str | None, default: str = "/") -> str:
    """Only same-site paths may be redirected to (no `//host` or `https://…`)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


# --- CSRF -----------------------------------------------------------------------------------


def _csrf_for(request: Request, basis: str) -> str:
    key = request.app.state.settings.secret_key.encode()
    return hmac.new(key, b"csrf:" + basis.encode(), hashlib.sha256).hexdigest()


def _basis(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE) or request.cookies.get(ANON_COOKIE)


def secure_cookies(request: Request) -> bool:
    return request.app.state.settings.environment == "production"


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
    )


async def checked_form(request: Request) -> FormData:
    """The posted form, after its CSRF token has been checked (403 otherwise)."""
    form = await request.form()
    basis = _basis(request)
    given = form.get("csrf")
    if (
        not basis
        or not isinstance(given, str)
        or not hmac.compare_digest(_csrf_for(request, basis), given)
    ):
        raise Forbidden("web.csrf_invalid")
    return form


# --- rendering ------------------------------------------------------------------------------


def attachment(content: bytes, media: str, name: str) -> Response:
    """A download named `name`; a name in Chinese goes as RFC 5987 `filename*`, with an ASCII
    fallback that keeps its extension."""
    if name.isascii():
        disposition = f'attachment; filename="{name}"'
    else:
        fallback = "download" + ("." + name.rsplit(".", 1)[1] if "." in name else "")
        disposition = f"attachment; filename={fallback}; filename*=UTF-8''{quote(name)}"
    return Response(
        content,
        media_type=media,
        headers={"Content-Disposition": disposition, "X-Content-Type-Options": "nosniff"},
    )


def local_time(value: datetime | None, tz: str = "Asia/Shanghai", fmt: str = "%Y-%m-%d %H:%M"):
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(tz)).strftime(fmt)


def local_deadline(value: datetime | None, tz: str = "Asia/Shanghai") -> str:
    """A deadline: the end of a day is that day's 24:00 (`deadline_text`)."""
    return "" if value is None else deadline_text(value, tz)


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
) -> HTMLResponse:
    """Render a page in the reader's language with a CSRF token for its forms."""
    locale = page_locale(request)
    basis = _basis(request)
    new_anon = None
    if basis is None:
        basis = new_anon = secrets.token_urlsafe(24)
    ctx: dict[str, Any] = {
        "request": request,
        "locale": locale,
        "html_lang": {"zh_Hans": "zh-CN", "zh_Hant": "zh-TW", "en": "en"}[locale],
        "languages": LANGUAGES,
        "csrf": _csrf_for(request, basis),
        "t": lambda key, **params: translate(key, locale, **params),
        "pick": lambda label: pick(label, locale),
        "local_time": local_time,
        "local_deadline": local_deadline,
        "new_submission": new_submission,
        "vendor": vendor_present(),
        "here": request.url.path + (("?" + request.url.query) if request.url.query else ""),
        "now": request.app.state.clock.now(),
        "server_now": request.app.state.clock.now().isoformat(),
    }
    ctx.update(context or {})
    response = templates.TemplateResponse(request, name, ctx, status_code=status)
    if new_anon is not None:
        set_cookie(request, response, ANON_COOKIE, new_anon, 60 * 60 * 24 * 30)
    return response


def error_message(exc: KesuError, locale: str) -> str:
    return api_errors.render(exc, locale)["error"]["message"]


def install(app: FastAPI) -> None:
    """Errors on pages become pages (JSON stays JSON under /api); 401 goes to the login page."""
    json_kesu = app.exception_handlers[KesuError]
    json_invalid = app.exception_handlers[RequestValidationError]

    async def kesu_error(request: Request, exc: KesuError) -> Response:
        if request.url.path.startswith("/api/"):
            return await json_kesu(request, exc)
        if exc.status == 401 and not request.url.path.startswith("/portal"):
            target = request.url.path
            if request.method == "GET" and request.url.query:  # back to the same queue or report
                target += "?" + request.url.query
            elif request.method != "GET":
                # a form sent after the session ran out: back to the page it was on (its action
                # answers POST only), else the start page
                came = urlsplit(request.headers.get("referer", ""))
                target = came.path + ("?" + came.query if came.query else "") or "/"
            if len(target) > NEXT_MAX:
                target = request.url.path
            target = quote(local_path(target), safe="/")
            return RedirectResponse(f"/login?next={target}", status_code=303)
        message = error_message(exc, page_locale(request))
        return render(request, "error.html", {"message": message}, status=exc.status)

    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        """A mistyped or stale address (404) or a wrong method (405) on a page: a page in the
        reader's language, not the JSON `{"detail": "Not Found"}`."""
        if request.url.path.startswith("/api/") and exc.status_code in (404, 405):
            # no such address or method: Kesu's error body in the reader's language, as for
            # every other API error, not Starlette's {"detail": "Not Found"}
            known = (
                NotFound("not_found.path", path=request.url.path[:200])
                if exc.status_code == 404
                else MethodNotAllowed("invalid.method", method=request.method)
            )
            body = api_errors.render(known, api_errors.locale_of(request))
            return JSONResponse(body, exc.status_code, headers=exc.headers)
        if request.url.path.startswith(("/api/", "/static/")):
            return await http_exception_handler(request, exc)
        key = {404: "web.not_found", 405: "web.bad_request"}.get(exc.status_code, "web.error")
        message = translate(key, page_locale(request))
        response = render(request, "error.html", {"message": message}, status=exc.status_code)
        response.headers.update(exc.headers or {})
        return response

    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        if request.url.path.startswith("/api/"):
            return await json_invalid(request, exc)
        locale = page_locale(request)
        problems = api_errors.problems_of(exc, locale)
        message = api_errors.joined(problems, locale) or translate("web.bad_request", locale)
        return render(request, "error.html", {"message": message}, status=422)

    def as_page(kind: type[Exception]):
        """The API's answer under /api, a page in the reader's language elsewhere: a value the
        database cannot hold (a date far out of range typed into a page's address)."""
        json_answer = app.exception_handlers[kind]

        async def handler(request: Request, exc: Exception) -> Response:
            answer = await json_answer(request, exc)  # also re-raises what is not the reader's
            if request.url.path.startswith("/api/"):
                return answer
            message = translate("invalid.out_of_range", page_locale(request))
            return render(request, "error.html", {"message": message}, status=answer.status_code)

        return handler

    for kind in (OverflowError, DataError, StatementError):
        app.add_exception_handler(kind, as_page(kind))
    app.add_exception_handler(KesuError, kesu_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(StarletteHTTPException, http_error)
