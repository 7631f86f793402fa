"""The sandbox org: records, fields (with field-level security), queries and writes.

Thread-safe behind one lock. Fields created through Tooling ``CustomField`` exist but stay
invisible to describe, SOQL and DML until a ``FieldPermissions`` row of a permission set
assigned to the running user grants read (and edit, to write them), as in a real org.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any

from icpsync.connectors.salesforce.sandbox import schema
from icpsync.connectors.salesforce.sandbox.errors import ApiError, RecordError
from icpsync.connectors.salesforce.sandbox.removal import Removal
from icpsync.connectors.salesforce.sandbox.render import Selection, select
from icpsync.connectors.salesforce.sandbox.seed import sf_id
from icpsync.connectors.salesforce.sandbox.soql import Query, SoqlError, matcher, parse
from icpsync.connectors.salesforce.sandbox.tooling import Tooling

PREFIX = {
    "Account": "001",
    "Opportunity": "006",
    "User": "005",
    "PermissionSet": "0PS",
    "FieldPermissions": "01k",
    "PermissionSetAssignment": "0Pa",
    "CustomField": "00N",
    "Report": "00O",
    "Folder": "00l",
}
NO_SUCH_COLUMN = (
    "No such column '{name}' on entity '{object}'. If you are attempting to use a custom "
    "field, be sure to append the '__c' after the custom field name. Please reference your "
    "WSDL or the describe call for the appropriate names."
)


class Org(Tooling, Removal):
    """One in-memory org with a single running (integration) user."""

    def __init__(self, *, daily_limit: int = 1_000_000, api_used: int = 0, org_id: str = ""):
        self.lock = threading.RLock()
        self.schema = schema.standard_objects()
        self.tooling_schema = schema.tooling_objects()
        self.records: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in self.schema}
        self.tooling: dict[str, dict[str, dict[str, Any]]] = {"CustomField": {}}
        self.metadata: dict[str, dict[str, Any]] = {}
        self.fls_fields: set[tuple[str, str]] = set()
        #: successful updates per Account id (``Sandbox.write_counts``).
        self.write_counts: Counter[str] = Counter()
        #: Account id -> the message of a validation rule that refuses every save of it.
        self.rejected: dict[str, str] = {}
        self.daily_limit = daily_limit
        self.api_used = api_used
        self._serial = itertools.count(1)
        self._last_stamp = datetime(2000, 1, 1, tzinfo=UTC)
        #: added to the wall clock for modstamps (tests simulate "the full sync ran an hour ago").
        self.clock_offset = timedelta(0)
        self.org_id = org_id or sf_id("00D", 1)
        self.user_id = self.insert("User", {"Username": "integration@icpsync.sandbox"})

    # -- ids, clock ------------------------------------------------------------------

    def new_id(self, object_name: str) -> str:
        return sf_id(PREFIX.get(object_name, "a00"), 1_000_000 + next(self._serial))

    def stamp(self) -> datetime:
        """A modstamp that never moves back (millisecond resolution; records written in the
        same millisecond share it, as in a real org, so the clock never runs ahead)."""
        now = datetime.now(UTC) + self.clock_offset
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        if self.clock_offset >= timedelta(0):
            now = max(now, self._last_stamp)
        self._last_stamp = now
        return self._last_stamp

    # -- field-level security --------------------------------------------------------

    def _granted(self) -> dict[str, tuple[bool, bool]]:
        assigned = {
            a["PermissionSetId"]
            for a in self.records["PermissionSetAssignment"].values()
            if a["AssigneeId"] == self.user_id
        }
        grants: dict[str, tuple[bool, bool]] = {}
        for perm in self.records["FieldPermissions"].values():
            if perm["ParentId"] in assigned:
                read, edit = grants.get(perm["Field"], (False, False))
                grants[perm["Field"]] = (
                    read or bool(perm["PermissionsRead"]),
                    edit or bool(perm["PermissionsEdit"]),
                )
        return grants

    def fields(self, object_name: str) -> dict[str, dict[str, Any]]:
        """The fields the running user can see on ``object_name`` (FLS applied)."""
        if object_name not in self.schema:
            raise ApiError(400, "INVALID_TYPE", f"sObject type '{object_name}' is not supported.")
        fields = self.schema[object_name]
        if not any((object_name, n) in self.fls_fields for n in fields):
            return fields
        grants = self._granted()
        out = {}
        for name, spec in fields.items():
            if (object_name, name) in self.fls_fields:
                read, edit = grants.get(f"{object_name}.{name}", (False, False))
                if not read:
                    continue
                if not edit:
                    spec = {**spec, "updateable": False, "createable": False}
            out[name] = spec
        return out

    def describe(self, object_name: str) -> dict[str, Any]:
        with self.lock:
            fields = self.fields(object_name)
        return {
            "name": object_name,
            "label": object_name,
            "custom": False,
            "createable": True,
            "updateable": True,
            "queryable": True,
            "keyPrefix": PREFIX.get(object_name),
            "fields": list(fields.values()),
            "recordTypeInfos": [],
            "urls": {"describe": f"/sobjects/{object_name}/describe"},
        }

    # -- queries ---------------------------------------------------------------------

    def query(self, text: str, *, tooling: bool = False) -> tuple[Query, Selection]:
        """Run a SOQL query now: :meth:`plan` and take its rows at once.

        Raises:
            ApiError: MALFORMED_QUERY, INVALID_TYPE, INVALID_FIELD or a bad filter value.
        """
        query, take = self.plan(text, tooling=tooling)
        return query, take()

    def plan(self, text: str, *, tooling: bool = False) -> tuple[Query, Callable[[], Selection]]:
        """Parse and check a SOQL query (its errors are raised here); the function returned
        takes its rows, the org's state when it is called, as tuples of the selected fields'
        values (Python values; ``COUNT()``: empty tuples, the count as ``size``).

        Raises:
            ApiError: MALFORMED_QUERY, INVALID_TYPE, INVALID_FIELD or a bad filter value.
        """
        try:
            query = parse(text)
        except SoqlError as exc:
            raise ApiError(400, "MALFORMED_QUERY", str(exc)) from None
        with self.lock:
            if tooling:
                if query.object not in self.tooling_schema:
                    raise ApiError(
                        400, "INVALID_TYPE", f"sObject type '{query.object}' is not supported."
                    )
                fields, table = self.tooling_schema[query.object], self.tooling[query.object]
            else:
                fields, table = self.fields(query.object), self.records[query.object]
            for name in query.referenced():
                if name not in fields:
                    message = NO_SUCH_COLUMN.format(name=name, object=query.object)
                    raise ApiError(400, "INVALID_FIELD", message)

            def typed(name: str, value: Any) -> Any:
                try:
                    return schema.coerce(fields[name], value)
                except (ValueError, TypeError):
                    raise ApiError(
                        400,
                        "INVALID_QUERY_FILTER_OPERATOR",
                        f"value of filter criterion for "
                        f"field '{name}' must be of type {fields[name]['type']}",
                    ) from None

            keep = matcher(query.where, typed) if query.where is not None else None

        def take() -> Selection:
            with self.lock:
                rows = list(table.values() if keep is None else filter(keep, table.values()))
                if query.count:
                    size = len(rows) if query.limit is None else min(query.limit, len(rows))
                    return Selection(query.object, [], [()] * size, list(range(size)))
                return select(query.object, query.fields, query.order, query.limit, rows)

        return query, take

    # -- writes ----------------------------------------------------------------------

    def _check(self, object_name: str, values: dict[str, Any], *, create: bool) -> dict[str, Any]:
        fields = self.fields(object_name)
        return {
            name: clean_value(fields, object_name, name, raw, create=create)
            for name, raw in values.items()
            if name not in ("attributes", "Id", "id")
        }

    def update(self, object_name: str, record_id: str, values: dict[str, Any]) -> None:
        """Apply one update, bumping ``SystemModstamp``; counts Account writes per id.

        A record named in :attr:`rejected` fails its validation rule after the system
        checks, as in a real org (``FIELD_CUSTOM_VALIDATION_EXCEPTION``, no field).

        Raises:
            RecordError: the record is missing or a value is refused.
        """
        with self.lock:
            record = self.target(object_name, record_id)
            clean = self._check(object_name, values, create=False)
            self.save(object_name, record, clean)

    def target(self, object_name: str, record_id: str) -> dict[str, Any]:
        """The record an update names (call holding :attr:`lock`).

        Raises:
            RecordError: the object is unknown, or the record missing or deleted.
        """
        table = self.records.get(object_name)
        if table is None:
            raise RecordError("INVALID_TYPE", f"sObject type '{object_name}' is not supported.")
        record = table.get(str(record_id))
        if record is None:
            code = "MALFORMED_ID" if len(str(record_id)) not in (15, 18) else "ENTITY_IS_DELETED"
            raise RecordError(code, f"invalid cross reference id: {record_id}", ["Id"])
        return record

    def rules(self, object_name: str) -> dict[str, str]:
        """Record id -> the message of a validation rule that refuses every save of it."""
        return self.rejected if object_name == "Account" else {}

    def save(
        self,
        object_name: str,
        record: dict[str, Any],
        clean: dict[str, Any],
        stamp: datetime | None = None,
    ) -> None:
        """Save checked values to a record (call holding :attr:`lock`): its validation rule
        first, then :meth:`save_many`'s work.

        Raises:
            RecordError: ``FIELD_CUSTOM_VALIDATION_EXCEPTION`` for a record in :attr:`rejected`.
        """
        rule = self.rules(object_name).get(record["Id"])
        if rule is not None:
            raise RecordError("FIELD_CUSTOM_VALIDATION_EXCEPTION", rule)
        self.save_many(object_name, [record], list(clean), [[v] for v in clean.values()], stamp)

    def save_many(
        self,
        object_name: str,
        records: list[dict[str, Any]],
        names: list[str],
        columns: Sequence[Sequence[Any]],
        stamp: datetime | None = None,
    ) -> None:
        """Save checked values, a column per name, to records there whose validation rule
        lets them be saved (call holding :attr:`lock`), in order: derived fields,
        ``SystemModstamp`` (``stamp``, or now) and the Account write counts."""
        if object_name == "Opportunity" and "StageName" in names:
            stages = columns[names.index("StageName")]
            closed = [stage in ("Closed Won", "Closed Lost") for stage in stages]
            won = [stage == "Closed Won" for stage in stages]
            names, columns = [*names, "IsClosed", "IsWon"], [*columns, closed, won]
        stamp = stamp if stamp else self.stamp()
        rows = zip(*columns, strict=True) if columns else itertools.repeat((), len(records))
        for record, values in zip(records, rows, strict=True):
            record.update(zip(names, values, strict=True))
            record["LastModifiedDate"] = record["SystemModstamp"] = stamp
        if object_name == "Account":
            self.write_counts.update(map(itemgetter("Id"), records))

    def insert(self, object_name: str, values: dict[str, Any]) -> str:
        """Create a record; returns its id.

        Raises:
            RecordError: a value is refused or a unique name is taken.
        """
        with self.lock:
            clean = self._check(object_name, values, create=True)
            if object_name == "PermissionSet":
                taken = {p["Name"] for p in self.records["PermissionSet"].values()}
                if clean.get("Name") in taken:
                    raise RecordError(
                        "DUPLICATE_DEVELOPER_NAME",
                        "The API Name you entered is already in use.",
                        ["Name"],
                    )
            if object_name == "FieldPermissions":
                self._check_field_permission(clean)
            record: dict[str, Any] = {name: None for name in self.schema[object_name]}
            record.update(clean)
            stamp = self.stamp()
            record.update(
                Id=self.new_id(object_name),
                CreatedDate=stamp,
                LastModifiedDate=stamp,
                SystemModstamp=stamp,
                IsDeleted=False,
            )
            self.records[object_name][record["Id"]] = record
            return str(record["Id"])

    def _check_field_permission(self, values: dict[str, Any]) -> None:
        target = str(values.get("Field") or "")
        object_name, _, name = target.partition(".")
        if name not in self.schema.get(object_name, {}):
            raise RecordError("INVALID_FIELD", f"Field {target} does not exist", ["Field"])
        if values.get("ParentId") not in self.records["PermissionSet"]:
            raise RecordError(
                "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["ParentId"]
            )

    def seed(self, object_name: str, records: Any) -> None:
        """Load records as they are (ids and stamps included)."""
        table = self.records[object_name]
        for record in records:
            table[record["Id"]] = record

    # -- limits ----------------------------------------------------------------------

    def spend(self) -> bool:
        """Count one API request; False when the daily limit is already spent."""
        with self.lock:
            if self.api_used >= self.daily_limit:
                return False
            self.api_used += 1
            return True

    def limit_info(self) -> str:
        return f"api-usage={self.api_used}/{self.daily_limit}"


def clean_value(
    fields: dict[str, dict[str, Any]], object_name: str, name: str, raw: Any, *, create: bool
) -> Any:
    """One input value checked against its field and typed (the same input always gives
    the same value or the same refusal).

    Raises:
        RecordError: no such field, not writable, not of the field's type, or not valid.
    """
    spec = fields.get(name)
    if spec is None:
        raise RecordError(
            "INVALID_FIELD", NO_SUCH_COLUMN.format(name=name, object=object_name), [name]
        )
    if not spec["updateable"] and not (create and spec["createable"]):
        raise RecordError(
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            f"Unable to create/update fields: {name}. Please check the security "
            "settings of this field and verify that it is read/write for your "
            "profile or permission set.",
            [name],
        )
    try:
        value = schema.coerce(spec, raw)
    except (ValueError, TypeError):
        raise RecordError(
            "INVALID_TYPE_ON_FIELD_IN_RECORD",
            f"{spec['label']}: value not of required type: {raw}",
            [name],
        ) from None
    return _validate(spec, value)


def _validate(spec: dict[str, Any], value: Any) -> Any:
    name = spec["name"]
    if value is None:
        return None
    if spec["type"] in ("string", "textarea", "url", "picklist") and len(value) > spec["length"]:
        raise RecordError(
            "STRING_TOO_LONG",
            f"{spec['label']}: data value too large: {value[:40]} (max length={spec['length']})",
            [name],
        )
    if spec["type"] == "picklist" and spec["restrictedPicklist"]:
        allowed = {v["value"] for v in spec["picklistValues"]}
        if value not in allowed:
            raise RecordError(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"{spec['label']}: bad value for restricted picklist field: {value}",
                [name],
            )
    if spec["type"] == "double" and spec["precision"]:
        if abs(value) >= 10 ** (spec["precision"] - spec["scale"]):
            raise RecordError(
                "NUMBER_OUTSIDE_VALID_RANGE",
                f"{spec['label']}: value outside of valid range on numeric field: {value}",
                [name],
            )
        value = round(value, spec["scale"])
    return value


__all__ = ["ApiError", "Org", "RecordError", "clean_value"]
