"""Structured logging (Powertools Logger) that never writes personal data.

Every record passes through a masking formatter: ID numbers, mainland mobile numbers and
card numbers in the message or in extra keys are masked before the line is written.
Powertools is imported when a function first logs, not when its module loads: importing
it (with its metrics, tracing and typing_extensions) is a tenth of a handler's cold import,
and most invocations log nothing.
"""
from __future__ import annotations

import re
import threading
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger

# 18-digit resident ID (last may be X), card numbers (13-19 digits), mobile numbers.
_ID = re.compile(r"(?<!\d)(\d{4})\d{10}(\d{3}[\dXx])(?!\d)")
_CARD = re.compile(r"(?<!\d)\d{9,15}(\d{4})(?!\d)")
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
SENSITIVE_KEYS = frozenset({"name", "id_number", "phone", "mobile", "card_number", "pan", "otp", "code"})


def scrub(value: Any) -> Any:
    """Mask anything that looks like personal data in a log value."""
    if isinstance(value, str):
        value = _ID.sub(r"\1**********\2", value)
        value = _CARD.sub(r"****\1", value)
        return _MOBILE.sub(r"\1****\2", value)
    if isinstance(value, dict):
        return {k: ("***" if k in SENSITIVE_KEYS else scrub(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub(v) for v in value]
    if isinstance(value, BaseException):  # Powertools puts the exception itself in stack_trace
        return scrub(str(value))
    return value


@lru_cache(maxsize=1)
def _masking_formatter_class() -> type:
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

    class MaskingFormatter(LambdaPowertoolsFormatter):
        def serialize(self, log: Any) -> str:
            return super().serialize(scrub(log))

    return MaskingFormatter


class _LazyLogger:
    """The Powertools Logger, built on first use; every attribute is the real logger's
    (its methods are called directly, so records keep the caller's location)."""

    def __init__(self, service: str | None):
        self._service = service
        self._logger: Logger | None = None
        self._lock = threading.Lock()

    def _real(self) -> Logger:
        if self._logger is None:
            with self._lock:
                if self._logger is None:
                    from aws_lambda_powertools import Logger

                    self._logger = Logger(service=self._service, logger_formatter=_masking_formatter_class()(),
                                          use_rfc3339=True)
        return self._logger

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real(), name)


def get_logger(service: str | None = None) -> Logger:
    """A logger for one function; `service` defaults to POWERTOOLS_SERVICE_NAME."""
    return _LazyLogger(service)  # type: ignore[return-value]  # a Logger in every use
