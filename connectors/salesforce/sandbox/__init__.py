"""A local Salesforce org over HTTPS that unmodified simple-salesforce works against.

``Sandbox(accounts=, opportunities=, seed=, port=, latency_ms=, fault_rate=)`` seeds an org
(records, two admin-built Account page layouts for the Metadata API, a report folder),
``start()`` serves it on 127.0.0.1 with a certificate from a CA made at start, ``stop()``
ends it. ``settings_overrides()`` / ``write_config(path)`` point icpsync at it
(``auth = "client_credentials"``, the CA as ``ca_bundle``). ``write_counts()``,
``reject_writes()`` and ``restore()`` are named as in the HubSpot sandbox, so one test
harness drives both.
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
import threading
from collections import Counter
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from icpsync.connectors.salesforce.sandbox import seed as seed_data
from icpsync.connectors.salesforce.sandbox.app import App
from icpsync.connectors.salesforce.sandbox.faults import KINDS, Faults
from icpsync.connectors.salesforce.sandbox.layouts import account_layouts
from icpsync.connectors.salesforce.sandbox.org import Org
from icpsync.connectors.salesforce.sandbox.reports import add_objects
from icpsync.connectors.salesforce.sandbox.server import _Server
from icpsync.connectors.salesforce.sandbox.tls import make_tls
from icpsync.core.synthetic import SyntheticData

if TYPE_CHECKING:
    from icpsync.engine.settings import Settings

__all__ = ["REJECTED", "Sandbox", "edit_accounts"]

CONSUMER_KEY = "3MVG9sandbox.icpsync"
CONSUMER_SECRET = "sandbox-secret"  # a local throw-away org's credential, not a real one
#: what the validation rule of ``reject_writes`` says.
REJECTED = "ICP fields are locked on this account by a validation rule"


class Sandbox:
    """A seeded local Salesforce org.

    Args:
        accounts: Accounts to seed.
        opportunities: Opportunities to seed.
        seed: random seed of the data and of the faults.
        port: port on 127.0.0.1 (0: a free one).
        latency_ms: delay added to every API response.
        fault_rate: share of API requests that fail (503, expired session, row locks, slow).
        daily_limit: the org's daily API request limit.
        api_used: API requests already spent today.
        slow_ms: how long a slow response takes.
        rate_limit: accepted for the CLI's sake and ignored: Salesforce limits requests per
            day (``daily_limit``), not per 10 seconds.
        without_fields: Account fields this org does not have (e.g. ``Tech_Stack__c``).
        org: which org the sandbox plays (1, 2, ...): its organization id is the
            ``org``-th ``00D...`` id; start a second sandbox with ``org=2`` to play a second org.
        org_id: an explicit organization id (18 characters, ``00D...``) instead.
        poison: Accounts (picked with ``seed``) put under :meth:`reject_writes` at start
            (``FIELD_CUSTOM_VALIDATION_EXCEPTION`` in Collections results and Bulk
            ``failedResults``); their ids are in ``poison_ids``.
        fault_kinds: the faults drawn (default: every kind of
            :mod:`~icpsync.connectors.salesforce.sandbox.faults`).
    """

    def __init__(
        self,
        accounts: int = 2000,
        opportunities: int = 6000,
        seed: int = 7,
        port: int = 0,
        latency_ms: float = 0,
        fault_rate: float = 0.0,
        *,
        daily_limit: int = 1_000_000,
        api_used: int = 0,
        slow_ms: float = 1500,
        rate_limit: int | None = None,
        without_fields: tuple[str, ...] = (),
        org: int = 1,
        org_id: str = "",
        poison: int = 0,
        fault_kinds: tuple[str, ...] | None = None,
    ):
        self.port = port
        self.latency_s = latency_ms / 1000
        org_id = org_id or seed_data.sf_id("00D", org)
        self.org = Org(daily_limit=daily_limit, api_used=api_used, org_id=org_id)
        self.data = SyntheticData(accounts=accounts, opportunities=opportunities, seed=seed)
        self.without_fields = tuple(without_fields)
        for name in self.without_fields:
            del self.org.schema["Account"][name]
        self._seed()
        add_objects(self.org)
        self.faults = Faults(fault_rate, seed, slow_s=slow_ms / 1000, kinds=fault_kinds or KINDS)
        ids = sorted(self.org.records["Account"])
        self.poison_ids = sorted(random.Random(seed).sample(ids, min(poison, len(ids))))
        if self.poison_ids:
            self.reject_writes(self.poison_ids)
        self.app = App(
            self.org, self.faults, consumer_key=CONSUMER_KEY, consumer_secret=CONSUMER_SECRET
        )
        for layout in account_layouts(self.without_fields):
            self.app.mdapi.put("Layout", layout)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._folder: Path | None = None
        self.ca_path: Path | None = None
        self.url = ""

    def start(self) -> Sandbox:
        """Serve on 127.0.0.1 in a background thread."""
        self._folder = Path(tempfile.mkdtemp(prefix="icpsync-sf-sandbox-"))
        context, self.ca_path = make_tls(self._folder)
        self._server = _Server(("127.0.0.1", self.port), self.app, context, self.latency_s)
        self.url = f"https://127.0.0.1:{self._server.server_address[1]}"
        self.app.base_url = self.url
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and remove the certificates."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what tests and the demo read ------------------------------------------------

    def stats(self) -> dict[str, int]:
        """Requests by kind, and ``total``."""
        return self.app.snapshot()

    def reset_stats(self) -> None:
        """Zero the request counts and the per-record write counts."""
        self.app.reset()

    def write_counts(self) -> Counter[str]:
        """Successful writes per Account id since the last reset."""
        with self.org.lock:
            return Counter(self.org.write_counts)

    def reject_writes(self, ids: Iterable[str], message: str = REJECTED) -> None:
        """A validation rule refuses every save of these Accounts from now on, each with
        ``FIELD_CUSTOM_VALIDATION_EXCEPTION`` in its own result (the rest of the batch is
        saved); no ids lifts the rule."""
        with self.org.lock:
            self.org.rejected = dict.fromkeys(ids, message)

    def restore(self) -> None:
        """Put every Account and Opportunity back as seeded (installed fields stay, their
        values are gone), lift rejections, clock offset and counts, give access back."""
        with self.org.lock:
            self.org.rejected = {}
            self.org.clock_offset = timedelta(0)
            self._seed()
        self.app.consumer_secret = CONSUMER_SECRET
        self.app.tokens.add(self.app.session_id)
        self.reset_stats()

    def revoke_access(self) -> None:
        """An admin rotates the connected app's consumer secret and revokes its sessions:
        every session ends (401 ``INVALID_SESSION_ID``) and logging in with the old
        secret is refused (``invalid_client``), until :meth:`restore`."""
        self.app.consumer_secret = f"{CONSUMER_SECRET}-rotated"
        self.app.tokens.clear()

    def _seed(self) -> None:
        for name, records in (
            (
                "Account",
                (
                    {k: v for k, v in record.items() if k not in self.without_fields}
                    for record in seed_data.accounts(self.data)
                ),
            ),
            ("Opportunity", seed_data.opportunities(self.data)),
        ):
            self.org.records[name].clear()
            self.org.seed(name, records)

    def values(self, fields: list[str]) -> dict[str, tuple[Any, ...]]:
        """The named Account fields of every account, by id (for comparing runs)."""
        with self.org.lock:
            return {
                rid: tuple(r.get(f) for f in fields)
                for rid, r in self.org.records["Account"].items()
            }

    def settings_overrides(self, ca_bundle: Path | None = None) -> dict[str, Any]:
        """Settings data (``Settings(**overrides)``) pointing icpsync at this sandbox."""
        return {
            "sync": {"crm": "salesforce"},
            "salesforce": {
                "auth": "client_credentials",
                "instance_url": self.url,
                "consumer_key": CONSUMER_KEY,
                "consumer_secret": CONSUMER_SECRET,
                "ca_bundle": str(ca_bundle or self.ca_path),
            },
        }

    def write_config(self, path: Path, **salesforce: Any) -> Path:
        """Write an icpsync config for this sandbox (and its CA next to it); keyword
        arguments add or replace ``[salesforce]`` settings."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        ca = path.with_name(f"{path.stem}-ca.pem")
        assert self.ca_path is not None, "start() the sandbox first"
        shutil.copyfile(self.ca_path, ca)
        section = {**self.settings_overrides(ca)["salesforce"], **salesforce}
        lines = ["[sync]", 'crm = "salesforce"', "", "[salesforce]"]
        lines += [
            f"{key} = {json.dumps(value if isinstance(value, int | float) else str(value))}"
            for key, value in section.items()
        ]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path


def _update(record_id: str, values: dict[str, Any]) -> Any:
    def send(client: Any) -> Any:
        return client.Account.update(record_id, values)

    return send


def edit_accounts(settings: Settings, n: int, seed: int, **_: Any) -> list[str]:
    """Edit ``n`` accounts through the REST API (single-record PATCH), as a user would.

    Employees and industry change, so some scores change. Returns the edited ids.
    """
    from icpsync.connectors.salesforce.api import Api
    from icpsync.connectors.salesforce.auth import Session
    from icpsync.core.model import ConnectorStats

    rng = random.Random(seed)
    session = Session.open(settings.salesforce)
    # A user's script that retries what a fault-injecting sandbox throws at it.
    api = Api(session, ConnectorStats(), max_retries=8, share=1.0)
    try:
        ids = api.call(
            "query", lambda c: [r["Id"] for r in c.query_all("SELECT Id FROM Account")["records"]]
        )
        chosen = sorted(rng.sample(sorted(ids), min(n, len(ids))))
        industries = ("Technology", "Education", "Retail", "Finance", "Government")
        for record_id in chosen:
            values = {
                "NumberOfEmployees": rng.choice((5, 40, 150, 800, 1500, 12000)),
                "Industry": rng.choice(industries),
            }
            api.call("update", _update(record_id, values))
        return chosen
    finally:
        session.close()
