"""Which characters text may hold, decided once for every input (API bodies, queries, paths
and the web forms).

Why: PostgreSQL's ``text`` cannot store U+0000, and the driver refuses it only when the
statement is sent, deep inside a unit of work (a 500 that also cost the group commit's
other requests their batch). Other control characters are never part of a legitimate
order, statement or appeal: they hide text from the reader of a page or a CSV, and break
exports. So every text input refuses:

- C0 controls (U+0000-U+001F) except TAB, LF and CR, which multi-line text needs;
- DEL (U+007F) and the C1 controls (U+0080-U+009F);
- lone surrogates (U+D800-U+DFFF), which JSON's ``\\ud800`` escapes can carry but no
  encoding can store.

Everything else (any script, emoji, formatting marks) is accepted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import AfterValidator

FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")

#: JSON nested deeper than this is refused before anything parses it: no document tangkal
#: accepts needs more than a handful of levels, and deep nesting is how parsers are made to
#: recurse until they fail.
MAX_JSON_DEPTH = 64

REASON = (
    "contains a control character (U+%04X at position %d); only tab, line feed and carriage "
    "return are accepted: remove it and send again"
)


def forbidden_at(text: str) -> tuple[int, int] | None:
    """(code point, 0-based position) of the first forbidden character, or None."""
    found = FORBIDDEN.search(text)
    return (ord(found.group()), found.start()) if found else None


def describe(text: str) -> str | None:
    """Why ``text`` is refused (the message a caller acts on), or None when it is fine."""
    at = forbidden_at(text)
    return REASON % at if at else None


def _checked(value: str) -> str:
    reason = describe(value)
    if reason:
        raise ValueError(reason)
    return value


#: A string field that refuses control characters, for models that are also used outside
#: HTTP (the CLI, the CSV import) where the request guard does not run.
CleanStr = Annotated[str, AfterValidator(_checked)]


def bad_strings(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(dotted path, reason) of every forbidden string in a decoded JSON value, keys
    included (a key is named by its own path)."""
    stack: list[tuple[Any, str]] = [(node, path)]
    while stack:
        value, where = stack.pop()
        if isinstance(value, str):
            reason = describe(value)
            if reason:
                yield where or "body", reason
        elif isinstance(value, dict):
            for key, item in value.items():
                inner = f"{where}.{key}" if where else str(key)
                reason = describe(key)
                if reason:
                    yield inner, "the key " + reason
                stack.append((item, inner))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                stack.append((item, f"{where}.{i}" if where else str(i)))


_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[^\[\]{}]+")


def json_depth(body: bytes) -> int:
    """How deeply the JSON document in ``body`` nests arrays and objects, without parsing
    it (brackets inside strings do not count); cheap for the usual shallow document."""
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return 0  # cannot be deeper than the limit: not worth counting
    brackets = _BRACKETS.sub(b"", _STRINGS.sub(b"", body))
    depth = deepest = 0
    for byte in brackets:
        if byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > deepest:
                deepest = depth
        else:
            depth -= 1
    return deepest


# A JSON body can carry a forbidden character only as an escape (\u0000, \b, \f: raw
# controls are not valid JSON), as a raw DEL, or as a raw C1 character (UTF-8 C2 80-9F).
_SUSPECT = re.compile(
    rb"\\u00[01][0-9a-fA-F]|\\u007[fF]|\\u00[89][0-9a-fA-F]|\\u[dD][89a-fA-F]|\\[bf]|\x7f|\xc2[\x80-\x9f]"
)


def json_may_hold_forbidden(body: bytes) -> bool:
    """False when ``body`` certainly holds no forbidden character (the common case, found
    with one scan); True means: decode it and look (:func:`bad_strings`)."""
    return _SUSPECT.search(body) is not None
