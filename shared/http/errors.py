"""Errors a person can act on: what was wrong, in which field, in Vietnamese and English."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pymongo.errors import ConnectionFailure
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message_vi: str,
        message_en: str,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message_en)
        self.status = status
        self.code = code
        self.message_vi = message_vi
        self.message_en = message_en
        self.details = details or []
        self.headers = headers

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "code": self.code,
            "message_vi": self.message_vi,
            "message_en": self.message_en,
        }
        if self.details:
            error["details"] = self.details
        return {"error": error}


def _field_path(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def translate(error: dict[str, Any]) -> dict[str, str]:
    """One pydantic error as {field, message_vi, message_en}."""
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    field = _field_path(tuple(error.get("loc", ())))
    en = str(error.get("msg", "invalid value"))
    if kind == "missing":
        vi = "Thiếu trường bắt buộc"
    elif kind == "string_too_short":
        vi = (
            "Không được để trống"
            if ctx.get("min_length") == 1
            else f"Quá ngắn: tối thiểu {ctx.get('min_length')} ký tự"
        )
    elif kind == "string_too_long":
        vi = f"Quá dài: tối đa {ctx.get('max_length')} ký tự"
    elif kind in ("enum", "literal_error"):
        vi = f"Giá trị không hợp lệ; chỉ nhận: {ctx.get('expected', '')}"
    elif kind == "extra_forbidden":
        vi = "Trường này không được chấp nhận; kiểm tra lại tên trường"
    elif kind == "json_invalid":
        vi = "Nội dung không phải JSON hợp lệ"
    elif kind in ("model_attributes_type", "dict_type", "model_type"):
        vi = "Phải là một đối tượng JSON"
    elif kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        vi = f"Giá trị nằm ngoài khoảng cho phép ({en})"
    elif kind.startswith("string_type") or kind == "string_type":
        vi = "Phải là chuỗi ký tự"
    elif field.endswith("email") and kind == "value_error":
        vi = "Địa chỉ email không hợp lệ"
    elif kind in ("url_scheme", "url_parsing"):
        vi = "Địa chỉ web không hợp lệ; phải bắt đầu bằng http:// hoặc https://"
    elif kind == "string_pattern_mismatch" and field.endswith("phone"):
        vi = "Số điện thoại chỉ gồm 8–15 chữ số, có thể có dấu + ở đầu"
    elif kind == "string_pattern_mismatch":
        vi = f"Không đúng định dạng (mẫu {ctx.get('pattern', '')})"
    elif kind == "unknown_field":
        vi = f"Mã lĩnh vực không tồn tại; các mã hợp lệ: {ctx.get('known', '')}"
    else:
        vi = f"Giá trị không hợp lệ ({en})"
    return {"field": field, "message_vi": vi, "message_en": en}


def validation_error(errors: list[dict[str, Any]]) -> ApiError:
    return ApiError(
        422,
        "validation_failed",
        "Dữ liệu gửi lên không hợp lệ; sửa các trường được nêu rồi gửi lại.",
        "The submitted data is invalid; fix the fields listed and send again.",
        [translate(e) for e in errors],
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        err = validation_error(list(exc.errors()))
        return JSONResponse(err.body(), status_code=err.status)

    @app.exception_handler(ConnectionFailure)
    async def _database_down(request: Request, exc: ConnectionFailure) -> JSONResponse:
        # A 503 the client can act on rather than a 500: sending again is safe for reads, and for a
        # submission with an Idempotency-Key even if the first write did land.
        log.warning("%s %s: database unreachable: %s", request.method, request.url.path, exc)
        err = ApiError(
            503,
            "database_unavailable",
            "Hệ thống tạm thời không kết nối được cơ sở dữ liệu; vui lòng gửi lại sau ít giây.",
            "The database is unreachable for the moment; send the request again in a few seconds.",
            headers={"Retry-After": "5"},
        )
        return JSONResponse(err.body(), status_code=err.status, headers=err.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        vi = {404: "Không tìm thấy địa chỉ này", 405: "Phương thức không được hỗ trợ"}.get(
            exc.status_code, "Yêu cầu không hợp lệ"
        )
        err = ApiError(exc.status_code, f"http_{exc.status_code}", vi, str(exc.detail))
        return JSONResponse(err.body(), status_code=exc.status_code, headers=getattr(exc, "headers", None))
