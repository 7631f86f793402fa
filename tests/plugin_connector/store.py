"""The memo CRM itself: companies, deals and custom fields in one JSON file.

Every request presents the API key; a wrong one is refused. Writes bump the company's
``touched`` time, as a real CRM's modification stamp moves.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from icpsync.core.errors import AuthError, FatalError


class MemoCrm:
    """A handle on one memo store file.

    Args:
        path: the JSON file.
        api_key: the key every call presents.
    """

    def __init__(self, path: Path, api_key: str):
        self.path = path
        self.api_key = api_key
        self.calls = 0

    def load(self) -> dict[str, Any]:
        """The whole store, once the key is accepted."""
        self.calls += 1
        try:
            data: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise FatalError(f"memo store {self.path} cannot be read ({exc.strerror})") from exc
        if data.get("api_key") != self.api_key:
            raise AuthError("memo: the API key was refused (check ICPSYNC_MEMO__API_KEY)")
        return data

    def save(self, data: dict[str, Any]) -> None:
        """Replace the store atomically."""
        self.calls += 1
        temp = self.path.with_suffix(".tmp")
        temp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(temp, self.path)

    @staticmethod
    def now() -> str:
        """The store's timestamp format."""
        return datetime.now(UTC).isoformat()
