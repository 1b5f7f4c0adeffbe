"""KesuError and request-validation errors as JSON, in the reader's language."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, StatementError

from kesu.errors import InvalidInput, KesuError
from kesu.i18n import in_language, negotiate, rule_params, translate


class Problem(BaseModel):
    field: str
    rule: str
    message: str


class ErrorDetail(BaseModel):
    code: str
    key: str
    message: str = Field(description="in the reader's language (Accept-Language or ?lang=)")
    field: str | None = None
    problems: list[Problem] | None = None


class ErrorOut(BaseModel):
    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": text}
    for status, text in (
        (401, "Sign-in required, or the token is invalid, expired or revoked"),
        (403, "Not allowed: role, tier, organisation scope, token scope or recusal"),
        (404, "Not found (or outside your scope), or no such address"),
        (409, "Not allowed in the complaint's state, or a stale version"),
        (413, "The request body is too large"),
        (422, "A field breaks a rule; `field` and `problems` name it"),
        (429, "Too many attempts: try again later"),
    )
}
"""Every error answer has this one body; routers declare it so the OpenAPI schema is true."""


def locale_of(request: Request) -> str:
    return request.query_params.get("lang") or negotiate(request.headers.get("accept-language"))


ENDPOINT_LABELS = {
    **dict.fromkeys(
        [
            ("set_my_locale", "locale"),
            ("create_user", "locale"),
            ("update_user", "locale"),
            ("create_channel", "locale"),
            ("update_channel", "locale"),
        ],
        "field.language",
    ),
    ("penalties", "until"): "field.up_to",
}
"""(endpoint, field name) → its label where the name means something else than on a complaint
(`field.locale` is the customer's language, `field.until` the end of a delay)."""


def field_label(field: str, locale: str, endpoint: str = "") -> str:
    """'payload.responsibility.0.share' → the translated name of its last named part."""
    parts = [p for p in field.split(".") if not p.isdigit() and p not in ("body", "payload")]
    name = parts[-1] if parts else field
    key = ENDPOINT_LABELS.get((endpoint, name), f"field.{name}")
    label = translate(key, locale)
    return name if label == key else label


def endpoint_of(request: Request) -> str:
    """The name of the route that answered (its function's name), "" before routing."""
    return getattr(request.scope.get("route"), "name", "") or ""


INT_MAX = 2**63 - 1
"""The largest integer both databases store (BIGINT)."""


def _too_large(request: Request) -> str | None:
    """The path or query parameter holding an integer no database column can hold, if any."""
    for name, value in (*request.path_params.items(), *request.query_params.items()):
        text = str(value).strip()
        if text.lstrip("+-").isdigit() and abs(int(text)) > INT_MAX:
            return str(name)
    return None


def problem(
    field: str, rule: str, ctx: dict[str, Any], locale: str, endpoint: str = ""
) -> dict[str, Any]:
    named = f"rule.{rule}.{field.rsplit('.', 1)[-1]}"  # a rule said for one field (a phone)
    if ctx.get("min_length", ctx.get("max_length")) == "1":  # "1 character", not "1 characters"
        named = f"rule.{rule}.one" if translate(named, locale) == named else named
    key = named if translate(named, locale) != named else f"rule.{rule}"
    text = translate(key, locale, **rule_params(ctx, locale))
    if text == key:
        text = translate("rule.other", locale, rule=rule)
    return {
        "field": field,
        "rule": rule,
        "message": field_label(field, locale, endpoint) + translate("web.sep.colon", locale) + text,
    }


def joined(problems: list[dict[str, Any]], locale: str) -> str:
    """The problems' messages in one line: "手机号：…；描述：…", "phone: …; description: …"."""
    return translate("web.sep.items", locale).join(p["message"] for p in problems)


def problems_of(
    exc: RequestValidationError, locale: str, endpoint: str = ""
) -> list[dict[str, Any]]:
    """Each field the request got wrong, with its rule, in the reader's language."""
    return [
        problem(
            ".".join(str(p) for p in e["loc"]),
            e["type"],
            {k: str(v) for k, v in (e.get("ctx") or {}).items()},
            locale,
            endpoint,
        )
        for e in exc.errors()
    ]


def render(exc: KesuError, locale: str, endpoint: str = "") -> dict[str, Any]:
    params = {k: in_language(v, locale) for k, v in exc.params.items() if k != "problems"}
    if exc.field and "field" not in params:
        params["field"] = field_label(exc.field, locale, endpoint)
    body: dict[str, Any] = {
        "code": exc.code,
        "key": exc.key,
        "message": translate(exc.key, locale, **params),
        "field": exc.field,
    }
    problems = exc.params.get("problems")
    if problems:
        body["problems"] = [
            problem(p["field"], p["rule"], p["ctx"], locale, endpoint) for p in problems
        ]
        body["message"] = joined(body["problems"], locale)
    return {"error": body}


def install(app: FastAPI) -> None:
    @app.exception_handler(KesuError)
    async def _kesu(request: Request, exc: KesuError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        body = render(exc, locale_of(request), endpoint_of(request))
        return JSONResponse(body, exc.status, headers=headers)

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def _out_of_range(request: Request, exc: Exception) -> JSONResponse:
        """A value the database cannot hold (an id past its integer range): the request is
        wrong, not the server. A number in the address is named; one in a body cannot be
        told from here."""
        named = _too_large(request)
        error = (
            InvalidInput("invalid.number_too_large", field=named, max=str(INT_MAX))
            if named
            else InvalidInput("invalid.out_of_range")
        )
        return JSONResponse(render(error, locale_of(request), endpoint_of(request)), 422)

    @app.exception_handler(StatementError)
    async def _unbindable(request: Request, exc: StatementError) -> JSONResponse:
        """A value that could not even be sent to the database (a date before year 1 once a
        time zone is applied) arrives wrapped: out of range like the rest; any other error
        stays a server error."""
        if isinstance(exc.orig, OverflowError):
            return await _out_of_range(request, exc.orig)
        raise exc

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        locale = locale_of(request)
        problems = problems_of(exc, locale, endpoint_of(request))
        body = {
            "code": "kesu.invalid",
            "key": "invalid.fields",
            "message": joined(problems, locale),
            "field": problems[0]["field"] if problems else None,
            "problems": problems,
        }
        return JSONResponse({"error": body}, 422)
