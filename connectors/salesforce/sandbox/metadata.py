"""Metadata API (SOAP) of the sandbox org: Layout and ListView components.

``POST /services/Soap/m/{version}`` with a SOAP envelope carrying ``SessionHeader`` and one
of ``readMetadata``, ``createMetadata``, ``updateMetadata``, ``upsertMetadata``,
``deleteMetadata`` or ``listMetadata``; answered with the envelopes the real API sends
(``ReadResult`` records with ``xsi:type``, ``SaveResult``/``UpsertResult``/``DeleteResult``,
``FileProperties``) so the unmodified zeep client behind ``sf.mdapi`` parses them.

Components are stored as the XML the client sent, by type and full name. Layout full names
are percent-encoded (``Account-Account %28Marketing%29 Layout``): a decoded name reads as
missing (``xsi:nil``), as in a real org. Writes are checked as a real org checks them: a
layout may not hold a field twice, and custom fields must exist.
"""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
import zlib
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
MD = "http://soap.sforce.com/2006/04/metadata"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
TYPES = {"Layout": "layouts/{}.layout", "ListView": "objects/{}.listView"}
WRITES = ("createMetadata", "updateMetadata", "upsertMetadata")


class SoapFault(Exception):
    """A SOAP fault: ``faultcode`` (``sf:INVALID_SESSION_ID`` ...) and ``faultstring``."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _text(node: ET.Element, name: str) -> str:
    child = node.find(f"{{{MD}}}{name}")
    return (child.text or "") if child is not None else ""


def to_xml(node: ET.Element, tag: str | None = None, attrs: str = "") -> str:
    """``node`` as XML in the default (metadata) namespace, local names only."""
    name = tag or _local(node.tag)
    inner = escape(node.text or "") if len(node) == 0 else "".join(to_xml(c) for c in node)
    if not inner:
        return f"<{name}{attrs}/>"
    return f"<{name}{attrs}>{inner}</{name}>"


def envelope(body: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP}" xmlns="{MD}" xmlns:xsi="{XSI}">'
        f"<soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
    )


def fault(code: str, message: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP}" xmlns:sf="{MD}"><soapenv:Body>'
        f"<soapenv:Fault><faultcode>{escape(code)}</faultcode>"
        f"<faultstring>{escape(message)}</faultstring></soapenv:Fault>"
        "</soapenv:Body></soapenv:Envelope>"
    )


def _result(full_name: str, problem: tuple[str, str] | None, created: bool | None = None) -> str:
    parts = []
    if created is not None:
        parts.append(f"<created>{str(created and problem is None).lower()}</created>")
    if problem:
        code, message = problem
        parts.append(
            f"<errors><message>{escape(message)}</message><statusCode>{code}</statusCode></errors>"
        )
    parts.append(f"<fullName>{escape(full_name)}</fullName>")
    parts.append(f"<success>{str(problem is None).lower()}</success>")
    return f"<result>{''.join(parts)}</result>"


class MetadataApi:
    """The org's Layout and ListView components.

    Args:
        field_exists: whether ``(object, field)`` names a field of the org (any FLS).
        user_id: the running user's id (for ``FileProperties``).
    """

    def __init__(self, field_exists: Callable[[str, str], bool], user_id: str):
        self.field_exists = field_exists
        self.user_id = user_id
        self.lock = threading.Lock()
        self.components: dict[tuple[str, str], ET.Element] = {}
        self.modified: dict[tuple[str, str], datetime] = {}
        #: SOAP calls by operation (``readMetadata``, ``updateMetadata``...).
        self.calls: Counter[str] = Counter()

    # -- seeding and reading (tests, demo) -------------------------------------------------

    def put(self, type_name: str, xml: str) -> None:
        """Store a component given as ``<Layout xmlns=...>`` XML (seed data)."""
        node = ET.fromstring(xml)
        with self.lock:
            key = (type_name, _text(node, "fullName"))
            self.components[key] = node
            self.modified[key] = datetime.now(UTC)

    def get(self, type_name: str, full_name: str) -> str | None:
        """A stored component as canonical XML text, or None."""
        with self.lock:
            node = self.components.get((type_name, full_name))
            return None if node is None else to_xml(node, type_name)

    def names(self, type_name: str) -> list[str]:
        with self.lock:
            return sorted(n for t, n in self.components if t == type_name)

    # -- the SOAP entry point ---------------------------------------------------------------

    def handle(self, body: bytes, valid_session: Callable[[str], bool]) -> tuple[int, str]:
        """Answer one SOAP request: (HTTP status, envelope)."""
        try:
            root = ET.fromstring(body)
        except ET.ParseError as exc:
            return 500, fault("soapenv:Client", f"could not parse the request: {exc}")
        session = root.find(f"{{{SOAP}}}Header/{{{MD}}}SessionHeader/{{{MD}}}sessionId")
        if session is None or not valid_session(session.text or ""):
            return 500, fault(
                "sf:INVALID_SESSION_ID",
                "INVALID_SESSION_ID: Invalid Session ID found in SessionHeader: Illegal Session",
            )
        call = root.find(f"{{{SOAP}}}Body/*")
        if call is None:
            return 500, fault("soapenv:Client", "no operation in the body")
        operation = _local(call.tag)
        with self.lock:
            self.calls[operation] += 1
        try:
            result = self._dispatch(operation, call)
        except SoapFault as exc:
            return 500, fault(exc.code, exc.message)
        return 200, envelope(f"<{operation}Response>{result}</{operation}Response>")

    def _dispatch(self, operation: str, call: ET.Element) -> str:
        if operation == "readMetadata":
            return self._read(_text(call, "type"), self._names(call))
        if operation in WRITES:
            items = call.findall(f"{{{MD}}}metadata")
            return "".join(self._write(operation, item) for item in items)
        if operation == "deleteMetadata":
            return self._delete(_text(call, "type"), self._names(call))
        if operation == "listMetadata":
            queries = call.findall(f"{{{MD}}}queries")
            return "".join(self._list(_text(q, "type")) for q in queries)
        raise SoapFault("sf:UNKNOWN_EXCEPTION", f"the sandbox does not answer {operation}")

    @staticmethod
    def _names(call: ET.Element) -> list[str]:
        return [n.text or "" for n in call.findall(f"{{{MD}}}fullNames")]

    @staticmethod
    def _check_type(type_name: str) -> None:
        if type_name not in TYPES:
            raise SoapFault("sf:INVALID_TYPE", f"INVALID_TYPE: the sandbox has no {type_name}")

    def _read(self, type_name: str, names: list[str]) -> str:
        self._check_type(type_name)
        if len(names) > 10:
            raise SoapFault("sf:EXCEEDED_ID_LIMIT", "EXCEEDED_ID_LIMIT: at most 10 full names")
        records = []
        with self.lock:
            for name in names:
                node = self.components.get((type_name, name))
                if node is None:
                    records.append('<records xsi:nil="true"/>')
                else:
                    records.append(to_xml(node, "records", f' xsi:type="{type_name}"'))
        return f"<result>{''.join(records)}</result>"

    def _write(self, operation: str, item: ET.Element) -> str:
        type_name = _local(item.get(f"{{{XSI}}}type") or "").rpartition(":")[2]
        full_name = _text(item, "fullName")
        upsert = operation == "upsertMetadata"
        if type_name not in TYPES:
            return _result(full_name, ("INVALID_TYPE", f"Cannot write a {type_name}"), None)
        key = (type_name, full_name)
        with self.lock:
            exists = key in self.components
            problem = self._problem(type_name, item)
            if problem is None and operation == "createMetadata" and exists:
                problem = (
                    "DUPLICATE_DEVELOPER_NAME",
                    f"There is already a {type_name} named {full_name}.",
                )
            if problem is None and operation == "updateMetadata" and not exists:
                problem = (
                    "INVALID_CROSS_REFERENCE_KEY",
                    f"In field: fullName - no {type_name} named {full_name} found",
                )
            if problem is None:
                node = ET.Element(f"{{{MD}}}{type_name}")
                node.extend(list(item))
                self.components[key] = node
                self.modified[key] = datetime.now(UTC)
        return _result(full_name, problem, (not exists) if upsert else None)

    def _problem(self, type_name: str, item: ET.Element) -> tuple[str, str] | None:
        full_name = _text(item, "fullName")
        if not full_name:
            return ("REQUIRED_FIELD_MISSING", "Required field is missing: fullName")
        if type_name == "Layout":
            obj = full_name.partition("-")[0]
            seen: set[str] = set()
            for field in item.iter(f"{{{MD}}}field"):
                name = field.text or ""
                if name in seen:
                    return ("FIELD_INTEGRITY_EXCEPTION", f"duplicate field {name} on the layout")
                seen.add(name)
                if name.endswith("__c") and not self.field_exists(obj, name):
                    return ("FIELD_INTEGRITY_EXCEPTION", f"Unknown field: {obj}.{name}")
            return None
        obj = full_name.partition(".")[0]
        for tag in ("label", "filterScope"):
            if not _text(item, tag):
                return ("REQUIRED_FIELD_MISSING", f"Required field is missing: {tag}")
        names = [c.text or "" for c in item.findall(f"{{{MD}}}columns")]
        names += [_text(f, "field") for f in item.findall(f"{{{MD}}}filters")]
        for name in names:
            if name.endswith("__c") and not self.field_exists(obj, name):
                return ("FIELD_INTEGRITY_EXCEPTION", f"Unknown field: {obj}.{name}")
        return None

    def _delete(self, type_name: str, names: list[str]) -> str:
        self._check_type(type_name)
        out = []
        with self.lock:
            for name in names:
                if self.components.pop((type_name, name), None) is None:
                    problem = ("INVALID_CROSS_REFERENCE_KEY", f"no {type_name} named {name} found")
                    out.append(_result(name, problem))
                else:
                    self.modified.pop((type_name, name), None)
                    out.append(_result(name, None))
        return "".join(out)

    def _list(self, type_name: str) -> str:
        self._check_type(type_name)
        rows = []
        with self.lock:
            for (kind, name), stamp in sorted(self.modified.items()):
                if kind != type_name:
                    continue
                when = stamp.strftime("%Y-%m-%dT%H:%M:%S.000Z")
                values: dict[str, Any] = {
                    "createdById": self.user_id,
                    "createdByName": "Integration User",
                    "createdDate": when,
                    "fileName": TYPES[type_name].format(name),
                    "fullName": name,
                    "id": f"00h5g00000{zlib.crc32(name.encode()) % 10**8:08d}",
                    "lastModifiedById": self.user_id,
                    "lastModifiedByName": "Integration User",
                    "lastModifiedDate": when,
                    "manageableState": "unmanaged",
                    "type": type_name,
                }
                rows.append(
                    "<result>"
                    + "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in values.items())
                    + "</result>"
                )
        return "".join(rows)


__all__ = ["MD", "MetadataApi", "SoapFault", "envelope", "fault", "to_xml"]
