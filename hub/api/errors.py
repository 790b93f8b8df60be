"""Every error is JSON ``{"error": {"code", "message", ...}}`` with a stable code."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from hub.services.errors import ServiceError

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


class ApiError(StarletteHTTPException):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(status, message, headers=headers)
        self.code = code


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(p) for p in loc)


# Request validation errors name each field with a stable code (pydantic's own wording
# is English and changes between versions): the console translates the code
# (err_<code>, with {limit} filled in) and shows it next to the input.
_FIELD_CODES = {
    "missing": "required",
    "string_too_short": "text_too_short",
    "string_too_long": "text_too_long",
    "too_short": "too_few",
    "too_long": "too_many",
    "int_parsing": "not_a_number",
    "int_type": "not_a_number",
    "int_from_float": "not_a_number",
    "float_parsing": "not_a_number",
    "float_type": "not_a_number",
    "decimal_parsing": "not_a_number",
    "greater_than": "out_of_range",
    "greater_than_equal": "out_of_range",
    "less_than": "out_of_range",
    "less_than_equal": "out_of_range",
    "literal_error": "unknown_option",
    "enum": "unknown_option",
    "extra_forbidden": "unknown_field",
}
_LIMITS = ("min_length", "max_length", "ge", "gt", "le", "lt")


def field_error(err: Any) -> dict[str, str]:
    """One refused field: ``field``, ``code`` (see _FIELD_CODES; ``bad_email`` for an
    email address, ``not_valid`` otherwise), ``message`` (English) and, for a length or
    range, ``limit``."""
    kind = str(err.get("type", ""))
    raw = str(err.get("msg", "invalid"))
    code = _FIELD_CODES.get(kind)
    if kind == "string_too_short" and (err.get("ctx") or {}).get("min_length") == 1:
        code = "required"  # an empty required text: "This is required", not "at least 1"
    if code is None:
        code = "bad_email" if "email" in raw.lower() else "not_valid"
    out = {
        "field": _field(err.get("loc", ())),
        "code": code,
        "message": "unknown field" if kind == "extra_forbidden" else raw,
    }
    ctx = err.get("ctx") or {}
    for key in _LIMITS:
        if key in ctx:
            out["limit"] = str(ctx[key])
            break
    return out


class ErrorDetail(BaseModel):
    code: str
    message: str
    # validation_error: one entry per refused field (field, code, message, limit?)
    fields: list[dict[str, str]] | None = None
    # weak_password: too_short, contains_email or common
    reason: str | None = None


class ErrorBody(BaseModel):
    """Every 4xx/5xx body: ``{"error": {"code", "message", ...}}``."""

    error: ErrorDetail


_DECLARED = {
    401: "not signed in, or the token is unknown",
    403: "signed in without the right",
    404: "no such resource (or not visible to you)",
    409: "conflicts with the current state",
    422: "invalid input (code validation_error names the fields)",
    429: "rate limited",
}


def _document_errors(app: FastAPI) -> None:
    """Declare the real error responses with ErrorBody instead of FastAPI's HTTPValidationError."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        components["ErrorBody"] = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
        defs = components["ErrorBody"].pop("$defs", {})
        components.update(defs)
        ref = {"$ref": "#/components/schemas/ErrorBody"}
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                if not isinstance(operation, dict) or "responses" not in operation:
                    continue
                responses = operation["responses"]
                for status, text in _DECLARED.items():
                    responses[str(status)] = {
                        "description": text,
                        "content": {"application/json": {"schema": ref}},
                    }
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI) -> None:
    _document_errors(app)

    @app.exception_handler(ServiceError)
    async def _service(request: Request, exc: ServiceError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message, **exc.extra), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        fields = [field_error(err) for err in exc.errors()]
        summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:5])
        return JSONResponse(error_body("validation_error", summary, fields=fields), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = getattr(exc, "code", None) or _HTTP_CODES.get(exc.status_code, "error")
        return JSONResponse(
            error_body(code, str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(error_body("internal_error", "internal error; see the hub log"), status_code=500)
