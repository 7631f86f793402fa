"""The two kinds of error the sandbox org raises: per request and per record."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A request-level error: HTTP status and the ``[{message, errorCode, fields}]`` body."""

    def __init__(self, status: int, code: str, message: str, fields: list[str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields or []

    def body(self) -> list[dict[str, Any]]:
        return [{"message": self.message, "errorCode": self.code, "fields": self.fields}]


class RecordError(Exception):
    """A record-level error, reported in a collection's or a bulk job's results."""

    def __init__(self, code: str, message: str, fields: list[str] | None = None):
        super().__init__(message)
        self.code, self.message, self.fields = code, message, fields or []
