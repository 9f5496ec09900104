"""docs/settings.md is the table generated from the settings class, and every setting
says what it does."""

from __future__ import annotations

from pathlib import Path

from tangkal.settings import setting_names
from tangkal.settings_doc import settings_markdown, undocumented

DOC = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def test_docs_settings_md_is_up_to_date() -> None:
    assert DOC.read_text(encoding="utf-8") == settings_markdown(), (
        "docs/settings.md is out of date: run `tangkal settings > docs/settings.md`"
    )


def test_every_setting_is_described_and_in_the_table() -> None:
    assert undocumented() == []
    table = settings_markdown()
    for name in setting_names():
        assert f"| `{name}` |" in table
