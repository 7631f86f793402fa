"""The tool's values in HubSpot: tier enumeration options and datetimes."""

from __future__ import annotations

from datetime import UTC, datetime

from icpsync.core.model import ANTI_ICP, NOT_ICP, TIER_1, TIER_2, TIER_3

#: icp_tier / icp_tier_override options: (internal value, label). Labels are the tiers.
TIER_OPTIONS: tuple[tuple[str, str], ...] = (
    ("tier_1", TIER_1),
    ("tier_2", TIER_2),
    ("tier_3", TIER_3),
    ("not_icp", NOT_ICP),
    ("anti_icp", ANTI_ICP),
)
TIER_VALUE = {label: value for value, label in TIER_OPTIONS}
TIER_LABEL = {value: label for value, label in TIER_OPTIONS}
#: HubSpot's own tier property, which the connector can mirror the tier into.
NATIVE = "hs_ideal_customer_profile"
#: HubSpot's own hs_ideal_customer_profile values; Not ICP and Anti-ICP clear it.
NATIVE_TIER = {TIER_1: "tier_1", TIER_2: "tier_2", TIER_3: "tier_3"}


def tier_label(raw: str | None) -> str | None:
    """The tier an enumeration value stands for (labels are accepted too)."""
    if raw is None or raw == "":
        return None
    return TIER_LABEL.get(raw, raw)


def hubspot_datetime(value: datetime) -> str:
    """A datetime as HubSpot writes them: ISO 8601, UTC, milliseconds, ``Z``."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def epoch_ms(value: datetime) -> int:
    """Milliseconds since the epoch (search filters on datetimes take these)."""
    return int(value.timestamp() * 1000)
