"""The shortcuts taken on the common path give exactly what the general path gives."""

from __future__ import annotations

import ipaddress
import sys
import unicodedata

import idna
import pytest

from tangkal.locators import url
from tangkal.locators.domain import could_be_ip
from tangkal.locators.parse import _has_control


def test_uts46_mapping_of_ascii_is_lower_casing_for_every_ascii_character() -> None:
    for code in range(0x80):
        text = f"a{chr(code)}B"
        assert idna.uts46_remap(text, std3_rules=False, transitional=False) == text.lower()


@pytest.mark.parametrize(
    "text",
    [
        "1.2.3.4",
        "::1",
        "2001:db8::1",
        "::ffff:10.0.0.1",
        "127.0.0.1",
        "0.0.0.0",
        "fe80::1%eth0",
        "1.2.3",
        "01.2.3.4",
        "1.2.3.4.5",
        "example.com",
        "t.me",
        "xn--p1ai",
        "123",
        "1e1.2.3.4",
        "١.٢.٣.٤",
        "abc:def",
        "",
    ],
)
def test_could_be_ip_never_rules_out_what_ipaddress_accepts(text: str) -> None:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return
    assert could_be_ip(text)


def test_control_character_check_matches_unicode_category_cc() -> None:
    for code in range(sys.maxunicode + 1):
        ch = chr(code)
        assert _has_control(f"x{ch}y") is (unicodedata.category(ch) == "Cc"), hex(code)


def test_percent_normalisation_shortcut_relies_on_percent_never_being_safe() -> None:
    for safe in (url._PATH_SAFE, url._QUERY_SAFE):
        assert "%" not in safe
        assert url.normalise_percent("/a/b~c", safe) == "/a/b~c"
    assert url.normalise_percent("/%7e%2F x", url._PATH_SAFE) == "/~%2F%20x"
