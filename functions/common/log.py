"""Structured logging (Powertools Logger) that never writes personal data.

Every record passes through a masking formatter: ID numbers, mainland mobile numbers and
card numbers in the message or in extra keys are masked before the line is written.
"""
from __future__ import annotations

import re
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

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
    return value


class MaskingFormatter(LambdaPowertoolsFormatter):
    def serialize(self, log: dict) -> str:
        return super().serialize(scrub(log))


def get_logger(service: str | None = None) -> Logger:
    """A logger for one function; `service` defaults to POWERTOOLS_SERVICE_NAME."""
    return Logger(service=service, logger_formatter=MaskingFormatter(), use_rfc3339=True)
