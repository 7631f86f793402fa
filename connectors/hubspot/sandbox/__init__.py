"""A local HubSpot portal that unmodified hubspot-api-client works against.

``Sandbox(accounts=, opportunities=, seed=, port=, latency_ms=, fault_rate=, rate_limit=)``
serves HubSpot's CRM v3/v4 shapes on 127.0.0.1: companies and deals (list, get, search,
batch read/update), properties and groups, v4 association batch reads, deal pipelines,
account details (``portalId``),
Lists v3 company lists,
``X-HubSpot-RateLimit-*`` headers and 429s with ``policyName``. ``edit_accounts`` plays a
user editing companies through the API. ``write_counts()``, ``reject_writes()`` and
``restore()`` are named as in the Salesforce sandbox, so one test harness drives both.
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from icpsync.connectors.hubspot.sandbox.limits import Limits
from icpsync.connectors.hubspot.sandbox.portal import DEFAULT_PORTAL, Portal
from icpsync.connectors.hubspot.sandbox.seed import INDUSTRY_OPTIONS
from icpsync.connectors.hubspot.sandbox.server import SandboxServer
from icpsync.core.synthetic import SyntheticData

if TYPE_CHECKING:
    from icpsync.engine.settings import Settings

__all__ = ["DEFAULT_RATE_LIMIT", "ICP_VALUES", "REJECTED", "TOKEN", "Sandbox", "edit_accounts"]

#: the Professional tier: 190 calls per 10 s per app.
DEFAULT_RATE_LIMIT = 190
DEFAULT_SEARCH_PER_SECOND = 5
DEFAULT_DAILY_LIMIT = 625_000
#: the sandbox's private-app token (not a secret: it opens nothing but this local server).
TOKEN = "pat-sandbox-0000"
#: what the validation rule of ``reject_writes`` says.
REJECTED = "ICP properties are locked on this company by a validation rule"
#: the ICP values a run decides (``icp_scored_at`` is the run's own time: left out).
ICP_VALUES = ("icp_score", "icp_tier", "icp_anti_flags", "icp_reasons", "icp_profile_version")


class Sandbox:
    """A running (once started) local HubSpot portal.

    Args:
        accounts: companies to seed.
        opportunities: deals to seed, associated with companies.
        seed: seed of the data and of the faults.
        port: port to listen on (0: a free one).
        latency_ms: delay added to every response.
        fault_rate: share of calls that fail (500/503, lost responses, 429, 207 partials).
        rate_limit: calls per 10 s before ``TEN_SECONDLY_ROLLING`` (default: Professional).
        search_per_second: search calls per second before the secondly 429.
        daily_limit: calls before ``DAILY``.
        fault_delay_s: how long a lost response keeps the client waiting.
        org: which portal the sandbox plays (1, 2, ...): start a second sandbox with
            ``org=2`` to play a second portal (another portal id).
        portal_id: an explicit portal (Hub) id instead.
        fault_kinds: the request faults drawn (default: every kind of
            :mod:`~icpsync.connectors.hubspot.sandbox.limits`).
        partials: also draw 207 partial failures on batch updates.
        reject_whole_batch: one invalid input rejects a whole batch update with a 400,
            nothing applied (HubSpot's behaviour); off: invalid inputs come back in a 207.
        poison: companies (picked with ``seed``) put under :meth:`reject_writes` at start
            (every write fails with a ``VALIDATION_ERROR``); their ids are in ``poison_ids``.
        without_fields: company properties this portal does not have (e.g.
            ``web_technologies``): no definition, no values.
    """

    def __init__(
        self,
        accounts: int = 2000,
        opportunities: int = 6000,
        seed: int = 7,
        port: int = 0,
        latency_ms: int = 0,
        fault_rate: float = 0.0,
        rate_limit: int = DEFAULT_RATE_LIMIT,
        search_per_second: int = DEFAULT_SEARCH_PER_SECOND,
        daily_limit: int = DEFAULT_DAILY_LIMIT,
        fault_delay_s: float = 0.2,
        org: int = 1,
        portal_id: int | None = None,
        *,
        fault_kinds: tuple[str, ...] | None = None,
        partials: bool = True,
        reject_whole_batch: bool = False,
        poison: int = 0,
        without_fields: tuple[str, ...] = (),
    ):
        portal_id = portal_id or DEFAULT_PORTAL + org - 1
        self.without_fields = tuple(without_fields)
        self.portal = Portal(accounts, opportunities, seed, portal_id, self.without_fields)
        self.portal.reject_whole_batch = reject_whole_batch
        ids = sorted(self.portal.records["companies"])
        self.poison_ids = sorted(random.Random(seed).sample(ids, min(poison, len(ids))))
        if self.poison_ids:
            self.reject_writes(self.poison_ids)
        kinds = {"fault_kinds": tuple(fault_kinds)} if fault_kinds else {}
        self.limits = Limits(
            rate_limit, search_per_second, daily_limit, fault_rate, seed, partials=partials, **kinds
        )
        self.port = port
        self.latency_ms = latency_ms
        self.fault_delay_s = fault_delay_s
        self._server: SandboxServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL to give hubspot-api-client as ``host``."""
        if self._server is None:
            raise RuntimeError("the sandbox is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> Sandbox:
        """Listen and serve in a background thread."""
        server = SandboxServer(
            self.portal, self.limits, TOKEN, self.latency_ms, self.fault_delay_s, port=self.port
        )
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="hubspot-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close every socket."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- for tests, the demo and benchmarks ----------------------------------------------

    def stats(self) -> dict[str, int]:
        """Calls seen by kind (``total``, ``list_companies``, ``batch_update_companies``,
        ``search_companies``, ``429``, ``fault_*``...)."""
        return self.limits.stats()

    def reset_stats(self) -> None:
        """Zero the counters and the per-record write counts."""
        self.limits.reset()
        with self.portal.lock:
            self.portal.write_counts.clear()

    def write_counts(self) -> Counter[str]:
        """Successful writes per company id since the last reset."""
        with self.portal.lock:
            return Counter(self.portal.write_counts)

    def restore(self) -> None:
        """Put every company and deal back as seeded (installed properties stay, their
        values are gone), lift rejections, take the token back and zero the counts."""
        self.portal.restore()
        self.limits.reset()
        if self._server is not None:
            self._server.token = TOKEN

    def revoke_token(self) -> None:
        """An admin rotates the private app's token: the one icpsync holds is refused
        (401 ``INVALID_AUTHENTICATION``) from now on, until :meth:`restore`."""
        if self._server is not None:
            self._server.token = f"{TOKEN}-rotated"

    @property
    def data(self) -> SyntheticData:
        """The synthetic data set the portal was seeded from."""
        return self.portal.data

    def reject_writes(self, ids: Iterable[str], message: str = REJECTED) -> None:
        """A property validation rule refuses every write of these companies from now on
        (a ``VALIDATION_ERROR`` of their own in a 207, or the whole batch's 400 with
        ``reject_whole_batch``); no ids lifts the rule."""
        with self.portal.lock:
            self.portal.rejected = dict.fromkeys(ids, message)

    def company(self, company_id: str) -> dict[str, str]:
        """A copy of one company's stored properties."""
        with self.portal.lock:
            return dict(self.portal.records["companies"][company_id])

    def values(self, names: tuple[str, ...] = ICP_VALUES) -> dict[str, tuple[str | None, ...]]:
        """``id -> values of names`` for every company (to compare runs)."""
        with self.portal.lock:
            return {
                cid: tuple(props.get(n) for n in names)
                for cid, props in self.portal.records["companies"].items()
            }

    def settings_overrides(self, **hubspot: Any) -> dict[str, Any]:
        """Settings (as ``Settings(**overrides)``) pointing icpsync at this sandbox."""
        section = {
            "access_token": TOKEN,
            "host": self.url,
            "rate_limit_per_10s": self.limits.rate_limit,
            "search_per_second": max(1, self.limits.search_per_second - 1),
        }
        section.update(hubspot)
        return {"sync": {"crm": "hubspot"}, "hubspot": section}

    def write_config(
        self, path: str | Path, *, sync: dict[str, Any] | None = None, **hubspot: Any
    ) -> Path:
        """Write an icpsync config (TOML) pointing at this sandbox; state next to it.

        ``sync`` adds keys to ``[sync]``; other keyword arguments go to ``[hubspot]``.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        section = self.settings_overrides(**hubspot)["hubspot"]
        lines = [
            "[sync]",
            'crm = "hubspot"',
            *[f"{key} = {json.dumps(value)}" for key, value in (sync or {}).items()],
            "",
            "[state]",
            f"dir = {json.dumps(str(path.parent / '.icpsync'))}",
            "",
            "[hubspot]",
        ]
        lines += [f"{key} = {json.dumps(value)}" for key, value in section.items()]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path


def edit_accounts(settings: Settings, n: int, seed: int, *, batch_size: int = 100) -> list[str]:
    """Edit ``n`` companies through the API (employees and industry), as a user would.

    Lists the companies with the real client, picks ``n`` with ``seed``, and updates them
    in batches. Returns their ids.
    """
    from hubspot.crm.companies import (
        BatchInputSimplePublicObjectBatchInput,
        SimplePublicObjectBatchInput,
    )

    from icpsync.connectors.hubspot.client import HubSpotApi

    api = HubSpotApi.from_settings(settings.hubspot)
    try:
        rows: list[tuple[str, dict[str, str]]] = []
        after = None
        while True:
            page = api.call(
                "list_companies",
                api.companies.get_page,
                limit=100,
                after=after,
                properties=["numberofemployees", "industry"],
            )
            rows.extend((c.id, c.properties or {}) for c in page.results)
            after = page.paging.next.after if page.paging and page.paging.next else None
            if not after:
                break
        rng = random.Random(seed)
        chosen = rng.sample(rows, min(n, len(rows)))
        inputs = []
        for cid, props in chosen:
            employees = int(float(props.get("numberofemployees") or 100))
            employees = rng.choice(
                [max(1, employees // 10), employees * 5 + 50, rng.randint(200, 2000)]
            )
            industry = rng.choice([v for v in INDUSTRY_OPTIONS if v != props.get("industry")])
            inputs.append(
                SimplePublicObjectBatchInput(
                    id=cid, properties={"numberofemployees": str(employees), "industry": industry}
                )
            )
        for start in range(0, len(inputs), batch_size):
            body = BatchInputSimplePublicObjectBatchInput(inputs=inputs[start : start + batch_size])
            api.call("batch_update", api.companies_batch.update, body)
        return [cid for cid, _ in chosen]
    finally:
        api.close()
