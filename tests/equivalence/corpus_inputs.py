"""The inputs of the corpus, drawn from fixed seeds: arbitrary profiles, accounts with
awkward values, raw records as each CRM delivers them, junk CSV text.

Used only by ``make_corpus.py``: the tests read the stored inputs, never this module. The
draws follow the property tests that compared the live code with frozen copies of the old
code (any profile on any field, values that compare equal but print differently, text
that only looks like a number), so the stored corpus checks what they checked.
"""

from __future__ import annotations

import csv
import io
import random
from datetime import UTC, date, datetime
from typing import Any

TIERS = ("Tier 1", "Tier 2", "Tier 3", "Not ICP", "Anti-ICP")

# -- profiles and accounts for the scorer ---------------------------------------------

WORDS = ["Technology", "technology ", "TECH", "Finance", "Education", "x", "", " ", "5", "5.0"]
FLOATS = [0.0, -0.0, 5.0, 199.5, 2000.0, 2e7, float("nan"), float("inf"), -float("inf"),
          0.1, 1e-300, 5e-324, 1.7976931348623157e308, -3.5, 1e16, 123456789.125]  # fmt: skip
CHARS = "abcXYZ 019,.;-_é€\u00a0\u200b\t\n\U0001f600\ud800"
TEXT_FIELDS = ["industry", "country", "domain", "name", "region"]
NUMBER_FIELDS = [
    "employees", "annual_revenue", "won_deals", "open_pipeline", "days_since_last_win",
    "sales_cycle_days", "customer", "signals.intent",
]  # fmt: skip
SET_FIELDS = ["tech_stack", "signals.tools"]
WIN_DAYS = (date(2020, 1, 1).toordinal(), date(2026, 11, 1).toordinal())


def _text(rng: random.Random, size: int = 8) -> str:
    return "".join(rng.choice(CHARS) for _ in range(rng.randint(0, size)))


def _number(rng: random.Random) -> int | float:
    pick = rng.random()
    if pick < 0.4:
        return rng.randint(-10, 3000)
    if pick < 0.8:
        return rng.choice(FLOATS)
    return rng.uniform(-1e6, 1e9)


def _word_or_text(rng: random.Random) -> str:
    return rng.choice(WORDS) if rng.random() < 0.7 else _text(rng)


def _folded_set(rng: random.Random, most: int) -> frozenset[str]:
    """Up to ``most`` words, no two equal when trimmed and lowered: the release shows the
    matched item of a set holding ``Technology`` and ``technology `` in an order that
    depends on the interpreter's hash seed, so such a set has no one stored answer."""
    chosen: dict[str, str] = {}
    for word in rng.sample(WORDS, rng.randint(0, most)):
        chosen.setdefault(word.strip().lower(), word)
    return frozenset(chosen.values())


def _any_value(rng: random.Random) -> Any:
    kind = rng.randrange(7)
    if kind == 0:
        return None
    if kind == 1:
        return rng.random() < 0.5
    if kind == 2:
        return _number(rng)
    if kind == 3:
        return _word_or_text(rng)
    if kind == 4:
        return _folded_set(rng, 3)
    if kind == 5:
        return [rng.choice(WORDS) for _ in range(rng.randint(0, 3))]
    return rng.choice([0, 1, True, False, 1.0, -0.0, "1", "true"])


def _operand(rng: random.Random) -> Any:
    return rng.choice([rng.choice(WORDS), rng.randint(0, 10), 5.0, True])


def _condition(rng: random.Random, fields: list[str] | None = None) -> dict[str, Any]:
    kind = rng.choice(["text", "number", "set", "missing"])
    if kind == "text":
        field = rng.choice([*TEXT_FIELDS, "signals.plan"])
        op = rng.choice(["in", "not_in"])
        return {"field": field, op: [_operand(rng) for _ in range(rng.randint(1, 4))]}
    if kind == "number":
        field = rng.choice(fields or NUMBER_FIELDS)
        op = rng.choice(["between", "at_least", "at_most", "in"])
        if op == "between":
            low = rng.randint(0, 2000)
            return {"field": field, "between": [low, low + rng.randint(0, 2000)]}
        if op == "in":
            return {"field": field, "in": [_operand(rng) for _ in range(rng.randint(1, 3))]}
        return {"field": field, op: rng.randint(0, 2000)}
    if kind == "set":
        field = rng.choice(SET_FIELDS)
        op = rng.choice(["contains_any", "contains_all"])
        return {"field": field, op: rng.sample(WORDS, rng.randint(1, 3))}
    field = rng.choice([*TEXT_FIELDS, *NUMBER_FIELDS, *SET_FIELDS])
    return {"field": field, "is_missing": rng.random() < 0.5}


def random_profile(rng: random.Random) -> dict[str, Any]:
    """A profile's data: up to 7 criteria and 3 anti-ICP rules on any field."""
    criteria = [
        {**_condition(rng), "id": f"c{i}", "points": rng.randint(-100, 100)}
        for i in range(rng.randint(0, 7))
    ]
    if criteria and rng.random() < 0.5:
        criteria[0]["label"] = _text(rng, 300)
    anti = []
    for i in range(rng.randint(0, 3)):
        effect = rng.choice(["disqualify", "cap", "penalty"])
        rule = {**_condition(rng), "id": f"a{i}", "effect": effect}
        if effect == "cap":
            rule["cap"] = rng.choice(TIERS[:4])
        if effect == "penalty":
            rule["points"] = rng.randint(1, 100)
        anti.append(rule)
    cuts = sorted((rng.randint(0, 100) for _ in range(3)), reverse=True)
    tiers = dict(zip(("tier_1", "tier_2", "tier_3"), cuts, strict=True))
    return {"criteria": criteria, "anti": anti, "tiers": tiers}


def random_account(rng: random.Random, account_id: str) -> dict[str, Any]:
    """Keyword arguments of an Account (``current`` as a dict of CurrentIcp's)."""

    def text() -> str | None:
        return None if rng.random() < 0.2 else _word_or_text(rng)

    signals = {
        key: _any_value(rng)
        for key in rng.sample(["intent", "tools", "plan", "flag"], rng.randint(0, 4))
    }
    return {
        "id": account_id,
        "name": text(),
        "domain": text(),
        "industry": text(),
        "employees": None if rng.random() < 0.2 else rng.randint(-5, 3000),
        "annual_revenue": None if rng.random() < 0.2 else float(_number(rng)),
        "country": text(),
        "region": text(),
        "tech_stack": _folded_set(rng, 3),
        "signals": signals,
        "current": {"override": rng.choice([None, None, None, *TIERS, "Tier 9", ""])},
    }


def random_aggregates(rng: random.Random) -> dict[str, Any]:
    """Keyword arguments of Aggregates."""
    return {
        "won_deals": rng.randint(0, 3),
        "lost_deals": rng.randint(0, 3),
        "open_deals": rng.randint(0, 3),
        "open_pipeline": rng.choice([0.0, 1500.0, 2e6]),
        "last_win": None if rng.random() < 0.3 else date.fromordinal(rng.randint(*WIN_DAYS)),
        "sales_cycle_days": rng.choice([None, 10.0, 90.5, 400.0]),
    }


# -- raw records for the normaliser ---------------------------------------------------

RAW_WORDS = [
    "Tech", "tech ", "Technology", "Bogus", "US", "n/a", "N/A", "", " ", "-", "--", "?", "null",
    "None", "unknown", "12", "1,200", "-5", "3.5", "1e400", "1e3", "0x1F", "nan", "NaN", "inf",
    "abc", "$3M", "12 people", "Salesforce; HubSpot", "Gong;;bogus", ";;;", "2026-01-02",
    "2026-01-02T03:04:05Z", "2026-01-02T03:04:05+0100", "2026-01-02T03:04:05.123+00:00",
    "2026-13-45", "1700000000000", "Tier 1", "Tier 9", "true", "No", "TRUE", "f", "yes",
    "https://www.Acme.com/x", "http://", "20000000", "1e14", "x" * 1100,
]  # fmt: skip
ACCOUNT_KEYS = [
    "id", "name", "domain", "industry", "employees", "annual_revenue", "country", "region",
    "tech_stack", "last_modified", "signals", "icp_score", "icp_tier", "icp_anti_flags",
    "icp_reasons", "icp_profile_version", "icp_scored_at", "icp_tier_override",
]  # fmt: skip
OPPORTUNITY_KEYS = ["id", "account_id", "stage", "is_closed", "is_won", "amount", "created",
                    "closed", "last_modified"]  # fmt: skip
IDS = ["A", "B", "C", "D", " ", None, "", 12345, 1.5, True, ["list"]]


def _raw_value(rng: random.Random) -> Any:
    kind = rng.randrange(9)
    if kind == 0:
        return None
    if kind in (1, 2):
        return rng.choice(RAW_WORDS)
    if kind == 3:
        return _text(rng, 12)
    if kind == 4:
        return rng.random() < 0.5
    if kind == 5:
        return rng.choice([rng.randint(-5, 10**6), 20_000_000, 10**20, 0, -1])
    if kind == 6:
        return rng.choice([*FLOATS, 1e14, 2.5e7, 99999999999999999999.0])
    if kind == 7:
        return rng.choice([b"", b"Tech", b"\xff\xfe", b"12"])
    return rng.choice(
        [
            [rng.choice(RAW_WORDS) for _ in range(rng.randint(0, 3))],
            {"intent": rng.choice(RAW_WORDS), "plan": rng.choice(RAW_WORDS)},
            [None, "", 3],
            {"deep": [1, {"deeper": None}]},
        ]
    )


def random_raw(rng: random.Random, keys: list[str]) -> dict[str, Any]:
    """A raw record: any of ``keys`` with any JSON-ish value, and an id that repeats."""
    raw = {key: _raw_value(rng) for key in rng.sample(keys, rng.randint(0, len(keys)))}
    raw["id"] = rng.choice(IDS)
    return raw


def bulk_csv_record(rng: random.Random, index: int, keys: list[str]) -> dict[str, Any]:
    """As a Salesforce Bulk 2.0 result row arrives: every value a string, null as ``""``."""
    raw = {key: rng.choice([*RAW_WORDS, "", "", "250", "5000000.0"]) for key in keys}
    raw["id"] = rng.choice([f"001{index:015d}", f"001{index % 7:015d}", ""])
    return raw


def rest_json_record(rng: random.Random, index: int) -> dict[str, Any]:
    """As a Salesforce REST query or a HubSpot search returns it: JSON types."""
    return {
        "id": rng.choice([f"{index}", str(index % 9), None]),
        "name": rng.choice([f"Company {index}", None, "", "  padded  "]),
        "domain": rng.choice(["acme.com", "https://www.Acme.com/x", None, "competitor-one.com"]),
        "industry": rng.choice(["COMPUTER_SOFTWARE", "Technology", "technology", None, 42, ""]),
        "employees": rng.choice([250, 250.0, 250.6, "250", -1, None, 0, 1e12, True, "1,200"]),
        "annual_revenue": rng.choice([5e7, 50000000, "5e7", "$3M", None, float("nan"), 1e14]),
        "country": rng.choice(["United States", "US", "usa", None, "Germany", ""]),
        "region": rng.choice(["EMEA", None, ""]),
        "tech_stack": rng.choice(["Salesforce;HubSpot", ["Gong", "Outreach"], None, "", 7]),
        "last_modified": rng.choice(
            ["2026-01-02T03:04:05.000+0000", "1700000000000", 1700000000000, None, "yesterday"]
        ),
        "signals": rng.choice([None, {}, {"intent": 3, "plan": "Pro"}, {"client": "Current"}]),
        "icp_score": rng.choice([None, 45, 45.0, "45", "high", -10]),
        "icp_tier": rng.choice([None, "Tier 1", "tier_2", ""]),
        "icp_anti_flags": rng.choice([None, "competitor;too_small", "", 3]),
        "icp_tier_override": rng.choice([None, None, "Tier 2", "Tier 0", 1, "Anti-ICP"]),
        "icp_scored_at": rng.choice([None, "2026-11-01T00:00:00Z", "never"]),
    }


def opportunity_record(rng: random.Random, index: int) -> dict[str, Any]:
    """A raw deal: CSV strings or JSON types."""
    return {
        "id": rng.choice([f"006{index:05d}", f"006{index % 5:05d}", None, ""]),
        "account_id": rng.choice(["A", "001000000000000001", None, "", 17]),
        "stage": rng.choice(["Closed Won", "closedwon", "12", "Prospecting", None, "Bogus"]),
        "is_closed": rng.choice(["true", "false", True, False, None, "maybe", 1, 0, ""]),
        "is_won": rng.choice(["true", "false", True, False, None, "yes", "N"]),
        "amount": rng.choice(["1000", 1000, 1000.5, "-5", None, "lots", float("inf"), ""]),
        "created": rng.choice(["2026-01-02", "2026-01-02T03:04:05Z", 1700000000000, None]),
        "closed": rng.choice(["2026-03-04", "", None, "2026-02-30", date(2026, 3, 4)]),
        "last_modified": rng.choice(
            ["2026-01-02T03:04:05+0100", datetime(2026, 1, 2, tzinfo=UTC), None, "x"]
        ),
    }


# -- CSV text that a file might hold ---------------------------------------------------

CELLS = [
    "", " ", "n/a", "-", "A1", "A2", "a3", "Technology", "technology", "Education", "USA",
    "Canada", "Germany", "250", "1,200", "-5", "5", "9", "lots", "3.5e7", "nan", "1e400",
    "Salesforce;Outreach", "HubSpot; Gong", ";;", "https://www.Acme.com/x", "competitor-one.com",
    "Tier 1", "Tier 9", "Current", "2026-01-02", "2026-13-40", "x" * 1100, "a,b", 'say "hi"',
    "two\nlines", "Société", "200", "2000", "2001", "50000000",
]  # fmt: skip
HEADER_NAMES = [
    "id", "name", "domain", "industry", "employees", "annual_revenue", "country", "region",
    "tech_stack", "last_modified", "client", "icp_score", "icp_tier_override", "icp_tier",
]  # fmt: skip


def junk_csv(rng: random.Random, rows: int) -> str:
    """A CSV with every column, ragged rows, blank lines, repeated ids and junk cells."""
    header = ["id", *HEADER_NAMES[1:]]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for index in range(rows):
        if rng.randrange(12) == 0:
            buffer.write("\r\n")  # a blank line
            continue
        width = len(header) + rng.choice([0, 0, 0, 0, 0, 0, -1, 1, -len(header) + 1])
        cells = [rng.choice(CELLS) for _ in range(width)]
        if cells:
            cells[0] = rng.choice([f"J{index}", f"J{index}", f"J{index % 50}", "", " ", "n/a"])
        writer.writerow(cells)
    return buffer.getvalue()


# -- profiles written for the corpus ---------------------------------------------------

#: anti-ICP rules switched on in the learned profile (``learn`` only proposes them).
LEARNED_ANTI = """
# Switched on for the corpus: one rule of each effect.
[[profile.anti]]
id = "too_small"
label = "employees at most 9"
field = "employees"
at_most = 9
effect = "disqualify"

[[profile.anti]]
id = "government"
label = "industry Government"
field = "industry"
in = ["Government"]
effect = "cap"
cap = "Tier 3"

[[profile.anti]]
id = "no_stack"
label = "no tech stack known"
field = "tech_stack"
is_missing = true
effect = "penalty"
points = 7
"""

#: every operator on every kind of field: text, numbers, sets, aggregates and signals.
KITCHEN_PROFILE = """
[profile]
name = "Every kind of condition"
description = "A profile for the equivalence corpus: each operator on each kind of field."

[profile.tiers]
tier_1 = 60
tier_2 = 35
tier_3 = 15

[[profile.criteria]]
id = "target_industry"
label = "target industry"
field = "industry"
in = ["Technology", "Software", "finance", "Telecommunications"]
points = 20

[[profile.criteria]]
id = "not_retail"
field = "industry"
not_in = ["Retail", "Media"]
points = 3

[[profile.criteria]]
id = "mid_market"
label = "200-2,000 employees"
field = "employees"
between = [200, 2000]
points = 15

[[profile.criteria]]
id = "revenue_20m"
field = "annual_revenue"
at_least = 20_000_000
points = 10

[[profile.criteria]]
id = "tiny_revenue"
label = "revenue under $1M"
field = "annual_revenue"
at_most = 1_000_000
points = -5

[[profile.criteria]]
id = "north_america"
field = "country"
in = ["United States", "Canada"]
points = 10

[[profile.criteria]]
id = "no_region"
label = "no region"
field = "region"
is_missing = true
points = 2

[[profile.criteria]]
id = "crm"
label = "CRM in stack"
field = "tech_stack"
contains_any = ["Salesforce", "HubSpot"]
points = 10

[[profile.criteria]]
id = "slack_and_jira"
field = "tech_stack"
contains_all = ["Slack", "Jira"]
points = 5

[[profile.criteria]]
id = "customer"
label = "existing customer"
field = "customer"
in = [true]
points = 15

[[profile.criteria]]
id = "repeat_winner"
field = "won_deals"
at_least = 2
points = 5

[[profile.criteria]]
id = "open_deal"
field = "open_deals"
at_least = 1
points = 5

[[profile.criteria]]
id = "pipeline"
label = "open pipeline up to $100k"
field = "open_pipeline"
between = [1, 100000]
points = 5

[[profile.criteria]]
id = "fast_cycle"
field = "sales_cycle_days"
at_most = 60
points = 5

[[profile.criteria]]
id = "current_client"
field = "signals.client"
in = ["Current"]
points = 10

[[profile.criteria]]
id = "paid_plan"
field = "signals.plan"
in = ["Enterprise", "Pro"]
points = 5

[[profile.criteria]]
id = "intent"
label = "intent 50+"
field = "signals.intent"
at_least = 50
points = 5

[[profile.criteria]]
id = "has_domain"
field = "domain"
is_missing = false
points = 1

[[profile.anti]]
id = "competitor"
label = "competitor"
field = "domain"
in = ["competitor-one.com", "competitor-two.io"]
effect = "disqualify"

[[profile.anti]]
id = "public_sector"
label = "public sector"
field = "industry"
in = ["Education", "Government"]
effect = "cap"
cap = "Tier 3"

[[profile.anti]]
id = "serial_loser"
label = "lost 2+ deals"
field = "lost_deals"
at_least = 2
effect = "penalty"
points = 10

[[profile.anti]]
id = "free_plan"
field = "signals.plan"
in = ["Free"]
effect = "penalty"
points = 20

[[profile.anti]]
id = "micro"
label = "20 employees or fewer"
field = "employees"
at_most = 20
effect = "cap"
cap = "Not ICP"
"""


def random_header_csv(rng: random.Random) -> str:
    """A small CSV whose header is any few of the columns, repeats included (an id column
    or not), with ragged rows and blank lines."""
    header = [rng.choice(HEADER_NAMES) for _ in range(rng.randint(1, 9))]
    if rng.random() < 0.6:
        header = ["id", *header]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for _ in range(rng.randint(0, 25)):
        if rng.randrange(10) == 0:
            buffer.write("\r\n")
            continue
        width = len(header) + rng.choice([0, 0, 0, 0, -1, 1, -len(header)])
        writer.writerow([rng.choice(CELLS) for _ in range(width)])
    return buffer.getvalue()
