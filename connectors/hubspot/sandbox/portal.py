"""The sandbox portal's records: companies, deals and their associations, in memory.

Property definitions and groups live in :mod:`.schema`; writes are validated against them.

Every operation returns ``(status, body)`` shaped like HubSpot's CRM v3/v4 responses. One
lock serialises changes; ``hs_lastmodifieddate`` moves on every write, and successful
company writes are counted per record id so tests can check none is written twice.
Companies named in ``rejected`` fail a property validation rule on every write: a
``VALIDATION_ERROR`` for that input alone in a 207 (the rest of the batch is applied).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from typing import Any

from icpsync.connectors.hubspot.sandbox import seed
from icpsync.connectors.hubspot.sandbox.lists import Lists
from icpsync.connectors.hubspot.sandbox.properties import invalid, parse_time
from icpsync.connectors.hubspot.sandbox.schema import Response, Schema, error, now_iso
from icpsync.connectors.hubspot.sandbox.search import SearchError, compile_filters, sort_keys
from icpsync.core.synthetic import SyntheticData

SEARCH_CAP = 10_000
#: inputs one v4 association batch read may carry (HubSpot's cap since 2025-02-10).
ASSOCIATION_READ_CAP = 1000
PORTAL_ID = 47_000_001
DEFAULT_PROPERTIES = {"companies": ("name", "domain"), "deals": ("dealname", "amount")}
ALWAYS = ("hs_object_id", "createdate", "hs_lastmodifieddate")
#: the sandbox's portal (Hub) id unless another is asked for.
DEFAULT_PORTAL = 24_681_357


class Portal:
    """One HubSpot portal's CRM data."""

    def __init__(
        self,
        accounts: int,
        opportunities: int,
        seed_value: int,
        portal_id: int = DEFAULT_PORTAL,
        without_fields: tuple[str, ...] = (),
    ):
        self.data = SyntheticData(accounts=accounts, opportunities=opportunities, seed=seed_value)
        self.portal_id = portal_id
        #: False plays a private app without the scope account details need (403).
        self.account_info_allowed = True
        self.lock = threading.RLock()
        self.records: dict[str, dict[str, dict[str, str]]] = {"companies": {}, "deals": {}}
        self.deal_company: dict[str, str] = {}
        self.company_deals: dict[str, list[str]] = {}
        self.schema = Schema(self.lock)
        self.properties = self.schema.properties
        #: company properties this portal lacks: never defined, never seeded.
        self.without_fields = tuple(without_fields)
        for name in self.without_fields:
            if self.properties["companies"].pop(name, None) is None:
                raise ValueError(name)
        self.lists = Lists(lambda kind: self.records[kind], lambda kind: self.properties[kind])
        self.write_counts: Counter[str] = Counter()
        #: one invalid input rejects the whole batch update with a 400 (as HubSpot does).
        self.reject_whole_batch = False
        #: company id -> the message of the validation rule that refuses its writes.
        self.rejected: dict[str, str] = {}
        #: bumped on every write; a search's sorted hits are reused while it stands still.
        self.version = 0
        self._hits: dict[str, tuple[object, list[str]]] = {}
        self.restore()

    def restore(self) -> None:
        """Every company and deal as seeded (property definitions stay); counts and
        rejections cleared."""
        with self.lock:
            for table in (self.records["companies"], self.records["deals"]):
                table.clear()
            self.deal_company.clear()
            self.company_deals.clear()
            for cid, props in seed.companies(self.data):
                for name in self.without_fields:
                    props.pop(name, None)
                self.records["companies"][cid] = props
            for did, cid, props in seed.deals(self.data):
                self.records["deals"][did] = props
                self.deal_company[did] = cid
                self.company_deals.setdefault(cid, []).append(did)
            self.write_counts.clear()
            self.rejected = {}
            self.version += 1
            self._hits.clear()

    def account_details(self) -> Response:
        """``GET /account-info/v3/details``: the portal's id and settings."""
        if not self.account_info_allowed:
            return error(
                403,
                "MISSING_SCOPES",
                "This app hasn't been granted all required scopes to make this call. "
                "Read more about required scopes here: https://developers.hubspot.com/scopes.",
            )
        return 200, {
            "portalId": self.portal_id,
            "accountType": "STANDARD",
            "timeZone": "US/Eastern",
            "companyCurrency": "USD",
            "additionalCurrencies": [],
            "utcOffset": "-05:00",
            "utcOffsetMilliseconds": -18_000_000,
            "uiDomain": "app.hubspot.com",
            "dataHostingLocation": "na1",
        }

    def token_info(self, body: dict[str, Any], token: str) -> Response:
        """``POST /oauth/v2/private-apps/get/access-token-info``: whose token this is."""
        if body.get("tokenKey") != token:
            return error(400, "VALIDATION_ERROR", "Invalid token key")
        return 200, {
            "userId": 1_000_001,
            "hubId": self.portal_id,
            "appId": 2_000_001,
            "scopes": ["crm.objects.companies.read", "crm.objects.companies.write"],
        }

    # -- objects ---------------------------------------------------------------------

    def _object(self, kind: str, rid: str, names: list[str] | None, assoc: list[str]) -> dict:
        props = self.records[kind][rid]
        wanted = list(names) if names else list(DEFAULT_PROPERTIES[kind])
        out = {
            n: props.get(n) for n in dict.fromkeys([*wanted, *ALWAYS]) if n in self.properties[kind]
        }
        body: dict[str, Any] = {
            "id": rid,
            "properties": out,
            "createdAt": props.get("createdate") or seed.EPOCH_ISO,
            "updatedAt": props.get("hs_lastmodifieddate") or seed.EPOCH_ISO,
            "archived": False,
        }
        links = self._associations(kind, rid, assoc)
        if links:
            body["associations"] = links
        return body

    def _associations(self, kind: str, rid: str, assoc: list[str]) -> dict[str, Any]:
        links: dict[str, Any] = {}
        for to in assoc:
            if kind == "deals" and to == "companies" and rid in self.deal_company:
                ids = [self.deal_company[rid]]
                type_ = "deal_to_company"
            elif kind == "companies" and to == "deals":
                ids = self.company_deals.get(rid, [])[:100]
                type_ = "company_to_deal"
            else:
                continue
            if ids:
                links[to] = {"results": [{"id": i, "type": type_} for i in ids]}
        return links

    def list_objects(
        self, kind: str, limit: int, after: str | None, names: list[str], assoc: list[str]
    ) -> Response:
        """``GET /crm/v3/objects/{kind}``: ids ascending, ``after`` is the next offset."""
        if not 1 <= limit <= 100:
            return error(400, "VALIDATION_ERROR", "limit must be between 1 and 100")
        with self.lock:
            ids = list(self.records[kind])
            start = int(after) if after and after.isdigit() else 0
            page = ids[start : start + limit]
            body: dict[str, Any] = {"results": [self._object(kind, i, names, assoc) for i in page]}
        if start + limit < len(ids):
            nxt = str(start + limit)
            body["paging"] = {"next": {"after": nxt, "link": f"?after={nxt}"}}
        return 200, body

    def get(self, kind: str, rid: str, names: list[str], assoc: list[str]) -> Response:
        """``GET /crm/v3/objects/{kind}/{id}``."""
        with self.lock:
            if rid not in self.records[kind]:
                return error(
                    404, "OBJECT_NOT_FOUND", "Object not found.  objectId are usually numeric."
                )
            return 200, self._object(kind, rid, names, assoc)

    def search(self, kind: str, request: dict[str, Any]) -> Response:
        """``POST /crm/v3/objects/{kind}/search`` with the 200-a-page and 10,000 caps."""
        limit = int(request.get("limit") or 10)
        after = int(request.get("after") or 0)
        if not 1 <= limit <= 200:
            return error(400, "VALIDATION_ERROR", "limit must be between 1 and 200")
        if after + limit > SEARCH_CAP:
            return error(
                400,
                "VALIDATION_ERROR",
                f"The maximum number of results for a search is {SEARCH_CAP}: "
                "after + limit exceeds it.",
            )
        kinds = {n: p["type"] for n, p in self.properties[kind].items()}
        try:
            keep = compile_filters(request.get("filterGroups") or [], kinds)
            sorts = sort_keys(request.get("sorts") or [])
        except SearchError as exc:
            return error(400, "VALIDATION_ERROR", str(exc))
        with self.lock:
            key = (self.version, repr(request.get("filterGroups")), repr(sorts))
            cached = self._hits.get(kind)
            if cached is not None and cached[0] == key:
                hits = cached[1]
            else:
                hits = [rid for rid, props in self.records[kind].items() if keep(props)]
                for name, descending in reversed(sorts or [("hs_object_id", False)]):
                    kind_of = kinds.get(name, "string")
                    hits.sort(
                        key=lambda rid: _sort_value(self.records[kind][rid].get(name), kind_of),
                        reverse=descending,
                    )
                self._hits[kind] = (key, hits)
            page = hits[after : after + limit]
            results = [self._object(kind, rid, request.get("properties") or [], []) for rid in page]
        body: dict[str, Any] = {"total": len(hits), "results": results}
        if after + limit < len(hits):
            body["paging"] = {"next": {"after": str(after + limit), "link": ""}}
        return 200, body

    def batch_read(self, kind: str, request: dict[str, Any]) -> Response:
        """``POST /crm/v3/objects/{kind}/batch/read``."""
        inputs = request.get("inputs") or []
        if len(inputs) > 100:
            return error(400, "VALIDATION_ERROR", "at most 100 inputs are allowed")
        started = now_iso()
        names = request.get("properties") or []
        results, missing = [], []
        with self.lock:
            for item in inputs:
                rid = str(item.get("id"))
                if rid in self.records[kind]:
                    results.append(self._object(kind, rid, names, []))
                else:
                    missing.append(rid)
        body = _batch(results, started)
        if not missing:
            return 200, body
        body["numErrors"] = 1
        body["errors"] = [
            _record_error(
                "OBJECT_NOT_FOUND",
                "Could not get some objects, they may be deleted or not exist.",
                missing,
            )
        ]
        return 207, body

    def batch_update(
        self, kind: str, request: dict[str, Any], fail_ids: frozenset[str] | set[str] = frozenset()
    ) -> Response:
        """``POST /crm/v3/objects/{kind}/batch/update``: 200, 207 per-record errors, or 400.

        With ``reject_whole_batch`` (HubSpot's behaviour for invalid property values) one
        invalid input rejects the whole batch with a 400 and nothing is applied; otherwise
        invalid inputs come back as 207 errors (a 400 when no input was valid).
        """
        inputs = request.get("inputs") or []
        if not inputs or len(inputs) > 100:
            return error(400, "VALIDATION_ERROR", "between 1 and 100 inputs are allowed")
        started = now_iso()
        valid, errors = [], []
        first_invalid: list[tuple[str, tuple[str, str]]] = []
        with self.lock:
            for item in inputs:
                rid = str(item.get("id"))
                values = item.get("properties") or {}
                if rid not in self.records[kind]:
                    errors.append(
                        _record_error("OBJECT_NOT_FOUND", f"Object {rid} not found", [rid])
                    )
                    continue
                if rid in fail_ids:
                    errors.append(
                        _record_error(
                            "INTERNAL_ERROR",
                            "Internal error while updating the object; try again",
                            [rid],
                        )
                    )
                    continue
                bad = self._invalid(kind, rid, values)
                if bad:
                    first_invalid = first_invalid or bad
                    detail = [
                        {"message": m, "code": c, "context": {"propertyName": [n]}}
                        for n, (c, m) in bad
                    ]
                    errors.append(
                        _record_error(
                            "VALIDATION_ERROR",
                            f"Property values were not valid: {detail[0]['message']}",
                            [rid],
                            detail,
                        )
                    )
                    continue
                valid.append((rid, values))
            if first_invalid and (self.reject_whole_batch or not valid):
                return self._invalid_batch(first_invalid)
            results = [self._apply(kind, rid, values) for rid, values in valid]
        body = _batch(results, started)
        if not errors:
            return 200, body
        body["numErrors"] = len(errors)
        body["errors"] = errors
        return 207, body

    def _invalid(
        self, kind: str, rid: str, values: dict[str, Any]
    ) -> list[tuple[str, tuple[str, str]]]:
        """The properties of one input the portal refuses, with ``(code, message)``."""
        checked = [(n, invalid(self.properties[kind].get(n), n, v)) for n, v in values.items()]
        bad = [(n, b) for n, b in checked if b is not None]
        if bad or rid not in self.rejected:
            return bad
        # a validation rule on this record allows none of the values written to it
        props = self.properties[kind]
        options = [n for n in values if props.get(n, {}).get("type") == "enumeration"]
        name = (options or list(values))[0]
        value = str(values[name])
        allowed = [o["value"] for o in props[name].get("options") or [] if o["value"] != value]
        message = f"{self.rejected[rid]}: {value!r} was not one of the allowed options: {allowed}"
        return [(name, ("INVALID_OPTION", message))]

    def _invalid_batch(self, bad: list[tuple[str, tuple[str, str]]]) -> Response:
        """HubSpot's 400 for a batch with an invalid input: the property checks as escaped
        JSON in the message (no record id), and the same in ``errors``."""
        checks = [
            {
                "isValid": False,
                "message": message,
                "error": code,
                "name": name,
                "localizedErrorMessage": message,
                "portalId": PORTAL_ID,
            }
            for name, (code, message) in bad
        ]
        return error(
            400,
            "VALIDATION_ERROR",
            "Property values were not valid: " + json.dumps(checks, separators=(",", ":")),
            errors=[
                {"message": m, "code": c, "context": {"propertyName": [n]}} for n, (c, m) in bad
            ],
        )

    def _apply(self, kind: str, rid: str, values: dict[str, Any]) -> dict[str, Any]:
        props = self.records[kind][rid]
        for name, value in values.items():
            text = "" if value is None else str(value)
            if text and self.properties[kind][name]["type"] in ("datetime", "date"):
                text = seed.iso_ms((parse_time(text) or 0) / 1000)
            props[name] = text
        props["hs_lastmodifieddate"] = now_iso()
        self.version += 1
        if kind == "companies":
            self.write_counts[rid] += 1
        return self._object(kind, rid, list(values), [])

    # -- associations v4 and pipelines --------------------------------------------------

    def association_batch_read(
        self, from_kind: str, to_kind: str, request: dict[str, Any]
    ) -> Response:
        """``POST /crm/v4/associations/{from}/{to}/batch/read`` (at most 1,000 inputs)."""
        inputs = request.get("inputs") or []
        if len(inputs) > ASSOCIATION_READ_CAP:
            return error(
                400,
                "VALIDATION_ERROR",
                f"Batch read may not exceed {ASSOCIATION_READ_CAP} inputs, got {len(inputs)}",
            )
        started = now_iso()
        results = []
        type_ids = {("deals", "companies"): 5, ("companies", "deals"): 6}
        with self.lock:
            for item in inputs:
                rid = str(item.get("id"))
                links = (
                    self._associations(from_kind, rid, [to_kind])
                    .get(to_kind, {})
                    .get("results", [])
                )
                if not links:
                    continue
                to = [
                    {
                        "toObjectId": int(link["id"]),
                        "associationTypes": [
                            {
                                "category": "HUBSPOT_DEFINED",
                                "typeId": type_ids.get((from_kind, to_kind), 1),
                                "label": "Primary",
                            }
                        ],
                    }
                    for link in links
                ]
                results.append({"from": {"id": rid}, "to": to})
        return 200, _batch(results, started)

    def pipelines(self) -> Response:
        """``GET /crm/v3/pipelines/deals``: the default pipeline and its stages."""
        stages = [
            {
                "id": sid,
                "label": label,
                "displayOrder": i,
                "metadata": {
                    "probability": str(prob),
                    "isClosed": str(sid.startswith("closed")).lower(),
                },
                "createdAt": seed.EPOCH_ISO,
                "updatedAt": seed.EPOCH_ISO,
                "archived": False,
            }
            for i, (sid, label, prob) in enumerate(seed.STAGES)
        ]
        pipeline = {
            "id": "default",
            "label": "Sales Pipeline",
            "displayOrder": 0,
            "stages": stages,
            "createdAt": seed.EPOCH_ISO,
            "updatedAt": seed.EPOCH_ISO,
            "archived": False,
        }
        return 200, {"results": [pipeline]}


def _sort_value(raw: str | None, kind: str) -> tuple[int, Any]:
    if raw in (None, ""):
        return (1, 0)
    if kind in ("number", "datetime", "date"):
        value = float(raw) if kind == "number" else parse_time(raw)
        return (0, value if value is not None else 0)
    return (0, raw.lower())


def _batch(results: list[dict[str, Any]], started: str) -> dict[str, Any]:
    return {
        "status": "COMPLETE",
        "results": results,
        "startedAt": started,
        "completedAt": now_iso(),
    }


def _record_error(
    category: str, message: str, ids: list[str], errors: list[dict] | None = None
) -> dict[str, Any]:
    return {
        "status": "error",
        "category": category,
        "message": message,
        "context": {"ids": ids},
        "errors": errors or [],
        "links": {},
    }
