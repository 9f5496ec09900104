"""The catalogues cover every message the pages use, and translations keep placeholders."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from tangkal.web.i18n import LANGUAGES, catalogue_path

ROOT = Path(__file__).resolve().parents[3]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdr]")


def _used_messages() -> set[str]:
    method_map = [
        ("src/tangkal/web/**.py", "python"),
        ("src/tangkal/web/templates/**.html", "jinja2"),
    ]
    options = {
        "src/tangkal/web/templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}
    }
    keywords = {"_": None, "gettext": None, "N_": None}
    found = set()
    for _, _, message, _, _ in extract_from_dir(str(ROOT), method_map, options, keywords=keywords):
        found.add(message if isinstance(message, str) else message[0])
    return found | _error_templates()


def _error_templates() -> set[str]:
    """Every ``tangkal.errors.Msg`` template in the package: the registry of domain messages
    the pages translate (extracted as pybabel does, with the keyword ``Msg``)."""
    found = set()
    for _, _, message, _, _ in extract_from_dir(
        str(ROOT / "src" / "tangkal"), [("**.py", "python")], keywords={"Msg": None}
    ):
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


def test_error_templates_are_registered_and_translated() -> None:
    templates = _error_templates()
    assert "Evidence %(name)r is empty; attach the file itself." in templates
    assert len(templates) > 40
    catalogue = _catalogue("id")
    for template in templates:
        assert catalogue.get(template), f"no Indonesian translation of {template!r}"


def test_every_msg_template_is_a_literal_the_extractor_sees() -> None:
    """A template built at run time (a variable, an f-string) would escape the catalogue
    check above and be shown in English; only ``tangkal.errors`` wraps plain strings."""
    src = ROOT / "src" / "tangkal"
    bad = []
    for path in src.rglob("*.py"):
        if path == src / "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and (
                (isinstance(node.func, ast.Name) and node.func.id == "Msg")
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "Msg")
            ):
                first = node.args[0] if node.args else None
                if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                    bad.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not bad, f"Msg(...) needs a literal template: {bad}"


def test_no_indonesian_translation_is_fuzzy() -> None:
    """A fuzzy entry is left out when the catalogue is compiled (``i18n.translations``), so
    its message would be shown in English although the .po file seems to translate it."""
    with catalogue_path("id").open("rb") as fh:
        fuzzy = [m.id for m in read_po(fh) if m.id and m.fuzzy]
    assert not fuzzy, fuzzy
