"""API calls of install, a second install, doctor and uninstall on each sandbox CRM.

    python benchmarks/install_calls.py

Counted by the sandboxes themselves (REST requests, and for Salesforce the Metadata API's
SOAP calls by operation). A second install should only read: no create, update or delete.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from icpsync.cli.crm import sandbox_class
from icpsync.engine.registry import build_connector
from icpsync.engine.settings import Settings

STEPS: tuple[tuple[str, Callable[[Any], Any]], ...] = (
    ("install", lambda c: c.ensure_fields(dry_run=False)),
    ("install again", lambda c: c.ensure_fields(dry_run=False)),
    ("doctor", lambda c: c.preflight()),
    ("uninstall", lambda c: c.uninstall(dry_run=False, keep_fields=False)),
)


def measure(crm: str) -> None:
    box = sandbox_class(crm)(accounts=100, opportunities=100)
    box.start()
    try:
        settings = Settings(**box.settings_overrides())
        for label, step in STEPS:
            box.reset_stats()
            soap_before = box.app.mdapi.calls.copy() if crm == "salesforce" else None
            started = time.perf_counter()
            connector = build_connector(settings, crm)
            try:
                step(connector)
            finally:
                connector.close()
            seconds = time.perf_counter() - started
            stats = box.stats()
            calls = stats["total"] - stats.get("oauth_token", 0)
            line = f"{crm:10} {label:14} {calls:3} API calls  {seconds:5.2f} s"
            if soap_before is not None:
                soap = box.app.mdapi.calls - soap_before
                line += "  SOAP: " + ", ".join(f"{k} {v}" for k, v in sorted(soap.items()))
            print(line)
    finally:
        box.stop()


if __name__ == "__main__":
    for name in ("salesforce", "hubspot"):
        measure(name)
