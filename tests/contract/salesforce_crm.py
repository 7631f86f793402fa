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
    HarnessBase,
    Held,
    seed_index,
    split_flags,
)
from icpsync.connectors.salesforce.sandbox import Sandbox, edit_accounts
from icpsync.connectors.salesforce.sandbox.seed import sf_id

#: canonical ICP key -> Account field (the shipped field map's names).
FIELDS = {
    "score": "ICP_Score__c",
    "tier": "ICP_Tier__c",
    "flags": "ICP_Anti_Flags__c",
    "reasons": "ICP_Reasons__c",
    "profile_version": "ICP_Profile_Version__c",
}
OVERRIDE = "ICP_Tier_Override__c"
#: how far back the org stamps the tool's own writes.
RUNS_AGO = timedelta(hours=1)


class SalesforceCrm(HarnessBase):
    """A sandbox org seeded with the contract's data."""

    name: ClassVar[str] = "salesforce"
    needs_install: ClassVar[bool] = True
    cannot: ClassVar[Mapping[str, str]] = {}

    def __init__(self, folder: Path):
        super().__init__(folder)
        self.box = Sandbox(accounts=ACCOUNTS, opportunities=OPPORTUNITIES, seed=SEED)
        assert self.box.data == self.data

    def start(self) -> None:
        self.box.start()

    def stop(self) -> None:
        self.close_state()
        self.box.stop()

    def restore(self) -> None:
        self.box.restore()
        self.box.org.clock_offset = -RUNS_AGO

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
