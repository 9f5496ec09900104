"""The settings as one Markdown table, generated from :class:`tangkal.settings.Settings`.

The table in ``docs/settings.md`` is this module's output (``tangkal settings``), and a test
compares the two, so a setting cannot be added, renamed or given another default without
the documentation following: the field's ``description`` is the documentation.
"""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import annotated_types
from pydantic.fields import FieldInfo

from tangkal.settings import NOT_SETTINGS, PREFIX, Settings

HEADER = """# Settings

Every setting is an environment variable. `tangkal serve` refuses to start when a
`TANGKAL_*` variable is not one of these (a misspelt name would otherwise be ignored) or
has a value that cannot be used, naming the variable, its value and why.

This file is generated from the settings class (`src/tangkal/settings.py`):
`tangkal settings > docs/settings.md`; a test fails when it is out of date.

"""


def _type(annotation: Any) -> str:
    if get_origin(annotation) is Literal:
        return " \\| ".join(f"`{a}`" for a in get_args(annotation))
    if get_origin(annotation) in (typing.Union, types.UnionType):
        kinds = [a for a in get_args(annotation) if a is not type(None)]
        return " \\| ".join(_type(a) for a in kinds) + " (optional)"
    if annotation is Path:
        return "path"
    return {str: "text", int: "integer", float: "number", bool: "boolean"}.get(
        annotation, getattr(annotation, "__name__", str(annotation))
    )


def _default(field: FieldInfo) -> str:
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    return f"`{value}`"


_BOUNDS = (
    (annotated_types.Gt, "gt", ">"),
    (annotated_types.Ge, "ge", "≥"),
    (annotated_types.Lt, "lt", "<"),
    (annotated_types.Le, "le", "≤"),
)


def _bounds(field: FieldInfo) -> str:
    said = []
    for meta in field.metadata:
        for kind, attr, sign in _BOUNDS:
            if isinstance(meta, kind):
                said.append(f"{sign} {getattr(meta, attr)}")
    return ", ".join(said)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def settings_markdown() -> str:
    """docs/settings.md: the header and one row per setting, in name order."""
    rows = [
        "| Variable | Type | Default | Allowed | What it does |",
        "|---|---|---|---|---|",
    ]
    for name, field in sorted(Settings.model_fields.items()):
        rows.append(
            "| `{}` | {} | {} | {} | {} |".format(
                PREFIX + name.upper(),
                _type(field.annotation),
                _default(field),
                _bounds(field),
                _cell(field.description or ""),
            )
        )
    others = ", ".join(f"`{pattern}`" for pattern in NOT_SETTINGS)
    footer = (
        "\nNot settings, but let through by that check: " + others + " (the test suite, "
        "the benches, and what `tangkal serve --workers N` hands its workers).\n"
        "\n`PROMETHEUS_MULTIPROC_DIR` (prometheus-client's own): with `--workers N`, where "
        "the workers keep their metric values so that every scrape shows all of them; "
        "`tangkal serve` makes and removes a directory of its own when it is unset, and "
        "empties the given one at start.\n"
    )
    return HEADER + "\n".join(rows) + "\n" + footer


def undocumented() -> list[str]:
    """Settings without a description: each one is a row that says nothing."""
    return sorted(
        PREFIX + name.upper()
        for name, field in Settings.model_fields.items()
        if not (field.description or "").strip()
    )
