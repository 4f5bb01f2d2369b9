"""One error shape for every HTTP API: a stable `code` (for programs and the log), a human
`message` (Chinese, shown to customers: what happened and what to do next), for bad input
the errors field by field, and where the answer is elsewhere a `link` to it."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FieldError:
    field: str
    code: str
    message: str

    def as_dict(self) -> dict:
        return {"field": self.field, "code": self.code, "message": self.message}


@dataclass
class ApiError(Exception):
    status: int
    code: str
    message: str
    fields: list[FieldError] = field(default_factory=list)
    link: str | None = None

    def __str__(self) -> str:
        return f"{self.status} {self.code}"

    def body(self) -> dict:
        out: dict = {"code": self.code, "message": self.message}
        if self.fields:
            out["fields"] = [f.as_dict() for f in self.fields]
        if self.link:
            out["link"] = self.link
        return out


class ValidationFailed(ApiError):
    def __init__(self, fields: list[FieldError], message: str = "提交的信息有误，请检查后重试"):
        super().__init__(400, "invalid_input", message, list(fields))


class NotFound(ApiError):
    def __init__(self, message: str = "未找到相关记录"):
        super().__init__(404, "not_found", message)


class Unauthorized(ApiError):
    def __init__(self, message: str = "请先登录"):
        super().__init__(401, "unauthorized", message)


class Forbidden(ApiError):
    def __init__(self, code: str = "forbidden", message: str = "没有权限执行此操作"):
        super().__init__(403, code, message)


class Conflict(ApiError):
    def __init__(self, code: str, message: str, link: str | None = None):
        super().__init__(409, code, message, link=link)


class TooManyRequests(ApiError):
    def __init__(self, code: str = "rate_limited", message: str = "操作过于频繁，请稍后再试"):
        super().__init__(429, code, message)


class ServiceUnavailable(ApiError):
    def __init__(self, message: str = "系统繁忙，请稍后再试"):
        super().__init__(503, "unavailable", message)


class Validator:
    """Collects field errors so a form reports every bad field at once."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, field_name: str, code: str, message: str) -> None:
        self.errors.append(FieldError(field_name, code, message))

    def check(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)
