"""The request guard's rule (tangkal.text) and its helpers, without a server."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel, ValidationError

from tangkal import text
from tangkal.api.inputguard import body_problems, query_problems


@pytest.mark.parametrize(
    "ch", ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1f", "\x7f", "\x85", "\x9f"]
)
def test_controls_are_refused(ch: str) -> None:
    assert text.forbidden_at("ab" + ch) == (ord(ch), 2)
    body = json.dumps({"order": {"reason": ["ok", "x" + ch]}}).encode()
    assert text.json_may_hold_forbidden(body)
    assert body_problems(body)[0][0] == "order.reason.1"


@pytest.mark.parametrize("value", ["line\n\tline\r\n", "Pasal 40 “ayat” 2b ✓", "ümlaut ©", ""])
def test_text_people_write_is_accepted(value: str) -> None:
    assert text.describe(value) is None
    assert body_problems(json.dumps({"reason": value}).encode()) == []
    assert body_problems(json.dumps({"reason": value}, ensure_ascii=False).encode()) == []


def test_a_lone_surrogate_and_a_key_are_refused() -> None:
    assert body_problems(b'{"statement": "x\\ud800"}')[0][0] == "statement"
    assert "key" in body_problems(b'{"conditions": {"a\\u0000": "b"}}')[0][1]
    # an escaped backslash before "u0000" is text, not a NUL
    assert body_problems(b'{"reason": "C:\\\\u0000"}') == []


def test_depth_counts_brackets_outside_strings() -> None:
    assert text.json_depth(b"[" * 65 + b"]" * 65) == 65
    assert body_problems(b"[" * 65 + b"]" * 65)[0][0] == "body"
    assert body_problems(b"[" * 64 + b"]" * 64) == []
    assert text.json_depth(json.dumps({"r": "[" * 500}).encode()) == 1


def test_query_parameters_are_named() -> None:
    assert query_problems(b"status=ok&q=a%00b") == [("q", query_problems(b"q=a%00b")[0][1])]
    assert query_problems(b"status=issued&domain=xn--80ak6aa92e.com") == []


def test_clean_str_is_the_same_rule_for_models() -> None:
    class M(BaseModel):
        note: text.CleanStr

    assert M(note="a\tb").note == "a\tb"
    with pytest.raises(ValidationError, match="control character"):
        M(note="a\x00b")
