"""The catalogues cover every message the pages use, and translations keep placeholders."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from tangkal.web.i18n import LANGUAGES, catalogue_path

ROOT = Path(__file__).resolve().parents[3]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def _used_messages() -> set[str]:
    method_map = [("src/tangkal/web/**.py", "python"),
                  ("src/tangkal/web/templates/**.html", "jinja2")]
    options = {"src/tangkal/web/templates/**.html": {"extensions": "jinja2.ext.i18n",
                                                    "trimmed": "true"}}
    keywords = {"_": None, "gettext": None, "N_": None}
    found = set()
    for _, _, message, _, _ in extract_from_dir(str(ROOT), method_map, options,
                                                 keywords=keywords):
        found.add(message if isinstance(message, str) else message[0])
    return found


def _catalogue(lang: str) -> dict[str, str]:
    with catalogue_path(lang).open("rb") as fh:
        return {m.id: m.string for m in read_po(fh) if m.id and isinstance(m.id, str)}


def test_every_message_used_is_in_every_catalogue() -> None:
    used = _used_messages()
    assert len(used) > 100
    for lang in LANGUAGES:
        missing = sorted(used - set(_catalogue(lang)))
        assert not missing, f"{lang}: run pybabel extract/update (see i18n/README.md): {missing}"


def test_every_indonesian_message_is_translated_with_the_same_placeholders() -> None:
    for msgid, text in _catalogue("id").items():
        assert text, f"untranslated: {msgid!r}"
        assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(text)), msgid
