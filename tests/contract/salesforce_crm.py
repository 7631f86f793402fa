"""The Salesforce connector under the contract: the sandbox org over HTTPS.

Writes are sObject Collections (the Bulk path has its own tests beside the connector). A
person's edit goes through the REST API as the integration user would send it; the
override is set as an admin sets it in the page layout (the integration user may only
read it), which bumps the record's ``SystemModstamp`` like any save.

SOQL compares datetimes to the second, and the runs here are milliseconds apart: the org
stamps the tool's writes an hour back (its runs "happened an hour ago", as real runs are
minutes apart) and a person's edits at the present, so a cursor sees the edits alone.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

from contract.harness import (
    ACCOUNTS,
    OPPORTUNITIES,
    SEED,
    WHOLE_BATCH_REJECTION,
    HarnessBase,
    Held,
    seed_index,
    split_flags,
)
from icpsync.connectors.salesforce.api import Api
from icpsync.connectors.salesforce.auth import Session
from icpsync.connectors.salesforce.sandbox import Sandbox, edit_accounts
from icpsync.connectors.salesforce.sandbox.faults import SPURIOUS_401 as SPURIOUS_401_FAULT
from icpsync.connectors.salesforce.sandbox.faults import Faults
from icpsync.connectors.salesforce.sandbox.seed import sf_id
from icpsync.core.model import ConnectorStats

#: canonical ICP key -> Account field (the shipped field map's names).
FIELDS = {
    "score": "ICP_Score__c",
    "tier": "ICP_Tier__c",
    "flags": "ICP_Anti_Flags__c",
    "reasons": "ICP_Reasons__c",
    "profile_version": "ICP_Profile_Version__c",
}
OVERRIDE = "ICP_Tier_Override__c"
#: the seed of injected faults: at a rate of 0.2 a session expiry on the first request, row
#: locks and slow answers among the next nine (a contract run makes about ten requests).
FAULT_SEED = 14
#: how far back the org stamps the tool's own writes.
RUNS_AGO = timedelta(hours=1)


class SalesforceCrm(HarnessBase):
    """A sandbox org seeded with the contract's data."""

    name: ClassVar[str] = "salesforce"
    needs_install: ClassVar[bool] = True
    edits_seen_by_incremental: ClassVar[bool] = True
    cannot: ClassVar[Mapping[str, str]] = {
        WHOLE_BATCH_REJECTION: "sObject Collections with allOrNone=false (and Bulk API 2.0) "
        "answer each refused record in its own result; Salesforce rejects a whole request "
        "only when it is malformed (JSON_PARSER_ERROR), which the connector never sends: "
        "its bisection is tested with a stand-in in tests/salesforce/test_unattended_writes.py"
    }

    def __init__(self, folder: Path):
        super().__init__(folder)
        self.box = Sandbox(accounts=ACCOUNTS, opportunities=OPPORTUNITIES, seed=SEED)
        assert self.box.data == self.data
        #: the orgs started, by number (1: the seeded one; 2...: see ``use_org``).
        self._boxes = {1: self.box}
        self._drawn = 0

    def start(self) -> None:
        self.box.start()

    def stop(self) -> None:
        self.close_state()
        for box in self._boxes.values():
            box.stop()

    def restore(self) -> None:
        self.box = self._boxes[1]
        for box in self._boxes.values():
            box.restore()
            box.org.clock_offset = -RUNS_AGO
            box.faults = box.app.faults = Faults(0.0, SEED)  # none, nor a script

    @contextmanager
    def _present(self) -> Iterator[None]:
        """A person's saves are stamped now; the tool's, an hour ago."""
        self.box.org.clock_offset = timedelta(0)
        try:
            yield
        finally:
            self.box.org.clock_offset = -RUNS_AGO

    def connection(self) -> dict[str, Any]:
        data = self.box.settings_overrides()
        data["salesforce"].update(bulk_poll_s=0.02, bulk_write_threshold=0)
        return data

    def account_id(self, seed_id: str) -> str:
        return sf_id("001", seed_index(seed_id) + 1)

    def opportunity_id(self, seed_id: str) -> str:
        return sf_id("006", seed_index(seed_id) + 1)

    # -- observed from outside -------------------------------------------------------

    def reset_counts(self) -> None:
        self.box.reset_stats()

    def write_counts(self) -> Counter[str]:
        return self.box.write_counts()

    def held(self) -> dict[str, Held]:
        held = {}
        for rid, (score, tier, flags, reasons, version) in self.box.values(
            list(FIELDS.values())
        ).items():
            held[rid] = Held(
                None if score is None else round(score),
                tier,
                split_flags(flags),
                reasons,
                version,
            )
        return held

    def overrides(self) -> dict[str, str]:
        return {rid: v[0] for rid, v in self.box.values([OVERRIDE]).items() if v[0]}

    def schema(self) -> frozenset[str]:
        org = self.box.org
        with org.lock:
            fields = {
                f"field {json.dumps(f, sort_keys=True, default=str)}"
                for f in org.tooling["CustomField"].values()
            }
            sets = {f"permission set {p['Name']}" for p in org.records["PermissionSet"].values()}
            grants = {
                f"grant {g['ParentId']} {g['Field']} read={g['PermissionsRead']} "
                f"edit={g['PermissionsEdit']}"
                for g in org.records["FieldPermissions"].values()
            }
            assigned = {
                f"assignment {a['PermissionSetId']}"
                for a in org.records["PermissionSetAssignment"].values()
            }
        return frozenset(fields | sets | grants | assigned)

    # -- what a person does ----------------------------------------------------------

    def edit_accounts(self, n: int, seed: int) -> list[str]:
        with self._present():
            return edit_accounts(self.settings(), n, seed)

    def set_override(self, account_id: str, tier: str) -> None:
        org = self.box.org
        with org.lock, self._present():
            record = org.records["Account"][account_id]
            record[OVERRIDE] = tier
            record["LastModifiedDate"] = record["SystemModstamp"] = org.stamp()

    def reject_writes(self, ids: list[str]) -> None:
        self.box.reject_writes(ids)

    # -- left alone for a month ------------------------------------------------------

    def rep_sets_tier(self, account_id: str, tier: str) -> None:
        """The rep saves the tier through the REST API (a single-record PATCH)."""

        def save(client: Any) -> Any:
            return client.Account.update(account_id, {FIELDS["tier"]: tier})

        session = Session.open(self.settings().salesforce)
        try:
            with self._present():
                Api(session, ConnectorStats(), max_retries=0, share=1.0).call("update", save)
        finally:
            session.close()

    def reject_whole_batch(self, on: bool) -> None:
        raise NotImplementedError(self.cannot[WHOLE_BATCH_REJECTION])

    def inject_faults(self, rate: float) -> None:
        """Every kind of :mod:`~icpsync.connectors.salesforce.sandbox.faults`, drawn from a
        generator seeded afresh with :data:`FAULT_SEED` (slow answers take 50 ms)."""
        self._drawn = 0
        faults = Faults(rate, FAULT_SEED, slow_s=0.05)
        draw = faults.draw

        def counted() -> str | None:
            fault = draw()
            if fault is not None:
                self._drawn += 1
            return fault

        faults.draw = counted  # type: ignore[method-assign]
        self.box.faults = self.box.app.faults = faults

    def faults_injected(self) -> int:
        return self._drawn

    def spurious_401s(self, count: int) -> None:
        # A session id cannot be renewed: a 401 that is not retried would fail the run.
        self._section.update(auth="session", session_id=self.box.app.session_id)
        script = iter([SPURIOUS_401_FAULT, None] * count)
        self._drawn = 0

        def draw() -> str | None:
            fault = next(script, None)
            if fault is not None:
                self._drawn += 1
            return fault

        self.box.faults.draw = draw  # type: ignore[method-assign]

    def revoke_access_after(self, writes: int) -> None:
        box = self.box

        def draw() -> str | None:
            if sum(box.write_counts().values()) >= writes:
                box.revoke_access()
            return None

        box.faults.draw = draw  # type: ignore[method-assign]

    def budget(self, calls: int | None) -> None:
        if calls is None:
            self._section.pop("api_budget_share", None)
            return
        org = self.box.org
        self._section["api_budget_share"] = (calls + 0.5) / (org.daily_limit - org.api_used)

    def use_org(self, number: int) -> str:
        if number not in self._boxes:
            box = Sandbox(accounts=ACCOUNTS, opportunities=OPPORTUNITIES, seed=SEED, org=number)
            self._boxes[number] = box
            box.start()
            self.box = box
            self.install()
            box.org.clock_offset = -RUNS_AGO
        self.box = self._boxes[number]
        return self.box.org.org_id
