"""The SOQL subset the sandbox understands, parsed into a small query object.

``SELECT a, b | COUNT() FROM Object [WHERE ...] [ORDER BY f [ASC|DESC], ...] [LIMIT n]``
where conditions combine ``=, !=, <, <=, >, >=, IN (...), NOT IN (...), LIKE`` with
``AND``, ``OR``, ``NOT`` and parentheses; values are strings, numbers, ``true/false/null``,
dates and datetimes (``2026-01-01T00:00:00Z`` or ``+00:00``). Anything else is a
``MALFORMED_QUERY``, as a real org would say.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*')"
    r"|(?P<dt>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))"
    r"|(?P<date>\d{4}-\d{2}-\d{2})"
    r"|(?P<num>-?\d+(?:\.\d+)?)"
    r"|(?P<op><=|>=|!=|<>|=|<|>|\(|\)|,)"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_.]*))"
)
_KEYWORDS = {"select", "from", "where", "and", "or", "not", "in", "like", "order", "by", "limit"}
_UNESCAPE = re.compile(r"\\(.)")


class SoqlError(ValueError):
    """The query is outside the subset or malformed."""


@dataclass(frozen=True)
class Cond:
    """``field op value``; ``value`` is a tuple for IN / NOT IN."""

    field: str
    op: str
    value: Any


@dataclass(frozen=True)
class BoolOp:
    """``AND`` / ``OR`` over parts, or ``NOT`` over one."""

    op: str
    parts: tuple[Any, ...]


@dataclass
class Query:
    """A parsed SOQL query."""

    object: str
    fields: list[str]
    count: bool = False
    where: Any = None
    order: list[tuple[str, bool]] = field(default_factory=list)
    limit: int | None = None

    def referenced(self) -> set[str]:
        """Every field the query names (select, where, order by)."""
        names = set(self.fields) | {name for name, _ in self.order}

        def walk(node: Any) -> None:
            if isinstance(node, Cond):
                names.add(node.field)
            elif isinstance(node, BoolOp):
                for part in node.parts:
                    walk(part)

        walk(self.where)
        return names


def _tokens(text: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise SoqlError(f"unexpected token at: {text[pos : pos + 20]!r}")
        pos = match.end()
        kind = match.lastgroup or ""
        raw = match.group(kind)
        if kind == "str":
            out.append(("value", _UNESCAPE.sub(r"\1", raw[1:-1])))
        elif kind == "dt":
            out.append(("value", _datetime(raw)))
        elif kind == "date":
            out.append(("value", date.fromisoformat(raw)))
        elif kind == "num":
            out.append(("value", float(raw) if "." in raw else int(raw)))
        elif kind == "op":
            out.append(("op", "!=" if raw == "<>" else raw))
        elif raw.lower() in _KEYWORDS:
            out.append(("kw", raw.lower()))
        elif raw.lower() in ("true", "false", "null"):
            out.append(("value", {"true": True, "false": False, "null": None}[raw.lower()]))
        else:
            out.append(("name", raw))
    return out


def _datetime(raw: str) -> datetime:
    text = raw.replace("Z", "+00:00")
    if text[-5] in "+-" and text[-3] != ":":
        text = f"{text[:-2]}:{text[-2:]}"
    return datetime.fromisoformat(text)


class _Parser:
    def __init__(self, text: str):
        self.toks = _tokens(text)
        self.pos = 0

    def peek(self) -> tuple[str, Any]:
        return self.toks[self.pos] if self.pos < len(self.toks) else ("end", None)

    def take(self, kind: str, value: Any = None) -> Any:
        tok = self.peek()
        if tok[0] != kind or (value is not None and tok[1] != value):
            raise SoqlError(f"expected {value or kind}, found {tok[1]!r}")
        self.pos += 1
        return tok[1]

    def accept(self, kind: str, value: Any) -> bool:
        if self.peek() == (kind, value):
            self.pos += 1
            return True
        return False

    def query(self) -> Query:
        self.take("kw", "select")
        fields: list[str] = []
        count = False
        if self.peek() == ("name", "COUNT") or self.peek() == ("name", "count"):
            self.pos += 1
            self.take("op", "(")
            self.take("op", ")")
            count = True
        else:
            fields.append(self.take("name"))
            while self.accept("op", ","):
                fields.append(self.take("name"))
        self.take("kw", "from")
        query = Query(object=self.take("name"), fields=fields, count=count)
        if self.accept("kw", "where"):
            query.where = self.expr()
        if self.accept("kw", "order"):
            self.take("kw", "by")
            while True:
                name = self.take("name")
                desc = False
                if self.peek()[0] == "name" and self.peek()[1].upper() in ("ASC", "DESC"):
                    desc = self.take("name").upper() == "DESC"
                query.order.append((name, desc))
                if not self.accept("op", ","):
                    break
        if self.accept("kw", "limit"):
            limit = self.take("value")
            if not isinstance(limit, int) or limit < 0:
                raise SoqlError("LIMIT expects a non-negative integer")
            query.limit = limit
        if self.peek()[0] != "end":
            raise SoqlError(f"unexpected {self.peek()[1]!r}")
        return query

    def expr(self) -> Any:
        parts = [self.term()]
        while self.accept("kw", "or"):
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else BoolOp("or", tuple(parts))

    def term(self) -> Any:
        parts = [self.factor()]
        while self.accept("kw", "and"):
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else BoolOp("and", tuple(parts))

    def factor(self) -> Any:
        if self.accept("kw", "not"):
            return BoolOp("not", (self.factor(),))
        if self.accept("op", "("):
            inner = self.expr()
            self.take("op", ")")
            return inner
        name = self.take("name")
        if self.accept("kw", "not"):
            self.take("kw", "in")
            return Cond(name, "not in", self.values())
        if self.accept("kw", "in"):
            return Cond(name, "in", self.values())
        if self.accept("kw", "like"):
            return Cond(name, "like", self.take("value"))
        op = self.take("op")
        if op not in ("=", "!=", "<", "<=", ">", ">="):
            raise SoqlError(f"unknown operator {op!r}")
        return Cond(name, op, self.take("value"))

    def values(self) -> tuple[Any, ...]:
        self.take("op", "(")
        out = [self.take("value")]
        while self.accept("op", ","):
            out.append(self.take("value"))
        self.take("op", ")")
        return tuple(out)


def parse(text: str) -> Query:
    """Parse one SOQL query of the subset.

    Raises:
        SoqlError: the query is malformed or outside the subset.
    """
    return _Parser(text).query()


def _like(pattern: str) -> re.Pattern[str]:
    body = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", re.IGNORECASE | re.DOTALL)


def matcher(node: Any, coerce: Callable[[str, Any], Any]) -> Callable[[dict[str, Any]], bool]:
    """A predicate over records for a WHERE tree; ``coerce(field, literal)`` types literals."""
    if node is None:
        return lambda record: True
    if isinstance(node, BoolOp):
        subs = [matcher(p, coerce) for p in node.parts]
        if node.op == "and":
            return lambda r: all(s(r) for s in subs)
        if node.op == "or":
            return lambda r: any(s(r) for s in subs)
        return lambda r: not subs[0](r)
    name, op = node.field, node.op
    if op in ("in", "not in"):
        wanted = {coerce(name, v) for v in node.value}
        if op == "in":
            return lambda r: r.get(name) in wanted
        return lambda r: r.get(name) not in wanted
    value = coerce(name, node.value)
    if op == "like":
        regex = _like(str(node.value))
        return lambda r: r.get(name) is not None and bool(regex.match(str(r.get(name))))
    if op == "=":
        return lambda r: r.get(name) == value
    if op == "!=":
        return lambda r: r.get(name) != value
    compare = {
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
    }[op]

    def check(record: dict[str, Any]) -> bool:
        current = record.get(name)
        if current is None or value is None:
            return False
        return bool(compare(current, value))

    return check
