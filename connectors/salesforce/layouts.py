"""The "ICP Fit" section on Account page layouts: a read-modify-write through ``sf.mdapi``.

Only the tool's section is touched: every other section, field, related list and button of
the admin's layout is sent back as it was read. Two things the Metadata API needs:

* zeep reads an empty ``<layoutColumns/>`` as ``None`` and would drop it on the way back,
  changing the section's shape; :func:`_keep_empty_columns` puts each back in place.
* a layout may not hold a field twice, so a field the admin already placed elsewhere is
  left out of the tool's section.

A layout whose section already matches is not written (a second install changes nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import unquote

from icpsync.connectors.salesforce.api import Api
from icpsync.connectors.salesforce.metadata import encode_name, md_call, mdapi, plain
from icpsync.core.errors import ConfigError
from icpsync.engine.protocol import PlanStep

#: (ICP key, behavior) per column of the section.
COLUMNS: tuple[tuple[tuple[str, str], ...], ...] = (
    (("tier", "Readonly"), ("score", "Readonly"), ("reasons", "Readonly")),
    (("override", "Edit"), ("flags", "Readonly"), ("scored_at", "Readonly")),
)


def section_fields(icp: Mapping[str, str]) -> list[tuple[str, str]]:
    """``(field, behavior)`` of the section, column by column."""
    return [(icp[key], how) for column in COLUMNS for key, how in column if key in icp]


class Layouts:
    """Plans, adds and removes the tool's section on the Account layouts."""

    def __init__(
        self, api: Api, obj: str, icp: Mapping[str, str], label: str, names: Sequence[str] | None
    ):
        self.api, self.obj, self.icp, self.label = api, obj, icp, label
        self._names = names

    def names(self, *, every: bool = False) -> list[str]:
        """The configured layouts (encoded), or (none configured, or ``every``) every layout
        of the object (``listMetadata``)."""
        if self._names and not every:
            return [encode_name(n) for n in self._names]
        rows = md_call(
            self.api,
            "metadata_list",
            lambda md: md.list_metadata([md.ListMetadataQuery(type="Layout")]),
        )
        prefix = f"{self.obj}-"
        return sorted(r.fullName for r in rows or [] if str(r.fullName).startswith(prefix))

    def read(self, names: list[str]) -> dict[str, Any]:
        """Layouts by full name (10 per call); a missing one raises naming it."""
        out: dict[str, Any] = {}
        for start in range(0, len(names), 10):
            part = names[start : start + 10]
            found = md_call(self.api, "metadata_read", _reader(part))
            records = found if isinstance(found, list) else [found]
            for name, record in zip(part, records, strict=True):
                if record is None or record.fullName is None:
                    raise ConfigError(
                        f"no page layout named {unquote(name)!r} in this org; expected names as "
                        "in Setup > Object Manager > Account > Page Layouts, e.g. "
                        f"{self.obj}-{self.obj} Layout",
                        key="salesforce.layouts",
                    )
                out[name] = record
        return out

    def _section(self, md: Any, layout: Any) -> Any:
        placed = {
            item.field
            for section in layout.layoutSections or []
            if section.label != self.label
            for column in section.layoutColumns or []
            if column is not None
            for item in column.layoutItems or []
        }
        columns = []
        for column in COLUMNS:
            items = [
                md.LayoutItem(behavior=how, field=self.icp[key])
                for key, how in column
                if key in self.icp and self.icp[key] not in placed
            ]
            columns.append(md.LayoutColumn(layoutItems=items) if items else md.LayoutColumn())
        return md.LayoutSection(
            customLabel=True,
            detailHeading=True,
            editHeading=True,
            label=self.label,
            layoutColumns=columns,
            style="TwoColumnsTopToBottom",
        )

    def _index(self, layout: Any) -> int | None:
        for i, section in enumerate(layout.layoutSections or []):
            if section.label == self.label:
                return i
        return None

    def ensure(self, *, dry_run: bool) -> list[PlanStep]:
        """Add (or correct) the section on each layout; unchanged layouts are not written."""
        steps = []
        changed = []
        layouts = self.read(self.names())
        for name, layout in layouts.items():
            md = mdapi(self.api, self.api.session.client())
            wanted = self._section(md, layout)
            index = self._index(layout)
            if index is not None and _same(layout.layoutSections[index], wanted):
                steps.append(
                    PlanStep(
                        "unchanged", f"layout {unquote(name)}", f"section {self.label!r}", True
                    )
                )
                continue
            action = "add section" if index is None else "update section"
            if not dry_run:
                sections = list(layout.layoutSections or [])
                if index is None:
                    sections.insert(_after_first(sections), wanted)
                else:
                    sections[index] = wanted
                layout.layoutSections = sections
                changed.append(layout)
            fields = sum(len(c.layoutItems or []) for c in wanted.layoutColumns if c is not None)
            steps.append(
                PlanStep(
                    action,
                    f"layout {unquote(name)}",
                    f"{self.label!r}, {fields} fields",
                    not dry_run,
                )
            )
        self._write(changed)
        return steps

    def remove(self, *, dry_run: bool) -> list[PlanStep]:
        """Take the section off every layout of the object (also those no longer named in
        the settings); the rest of each layout is sent back as read."""
        steps = []
        changed = []
        for name, layout in self.read(self.names(every=True)).items():
            index = self._index(layout)
            if index is None:
                continue
            if not dry_run:
                sections = list(layout.layoutSections)
                del sections[index]
                layout.layoutSections = sections
                changed.append(layout)
            steps.append(
                PlanStep("remove section", f"layout {unquote(name)}", repr(self.label), not dry_run)
            )
        self._write(changed)
        return steps

    def present(self) -> dict[str, bool]:
        """Whether each layout holds the section (for doctor)."""
        return {
            name: self._index(layout) is not None
            for name, layout in self.read(self.names()).items()
        }

    def _write(self, layouts: list[Any]) -> None:
        """``updateMetadata``, 10 layouts a call (the API's limit)."""
        for start in range(0, len(layouts), 10):
            part = layouts[start : start + 10]

            def send(md: Any, part: list[Any] = part) -> None:
                for layout in part:
                    _keep_empty_columns(md, layout)
                md.Layout.update(part)

            md_call(self.api, "metadata_update", send)


def _reader(names: list[str]) -> Callable[[Any], Any]:
    def read(md: Any) -> Any:
        return md.Layout.read(names)

    return read


def _after_first(sections: list[Any]) -> int:
    """Right below the first section (the record's main details), or at the top."""
    return 1 if sections else 0


def _keep_empty_columns(md: Any, layout: Any) -> None:
    for section in layout.layoutSections or []:
        section.layoutColumns = [
            md.LayoutColumn() if c is None else c for c in section.layoutColumns or []
        ]


def _same(current: Any, wanted: Any) -> bool:
    def items(section: Any) -> list[list[tuple[Any, Any]]]:
        return [
            [(i.field, i.behavior) for i in (c.layoutItems or [])] if c is not None else []
            for c in section.layoutColumns or []
        ]

    return items(current) == items(wanted) and plain(current.style) == plain(wanted.style)
