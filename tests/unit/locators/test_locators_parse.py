"""parse_locator as a whole: dispatch, bare domains, junk, equality and related keys."""

from __future__ import annotations

import dataclasses

import pytest

from tangkal.errors import InvalidLocator
from tangkal.locators import Domain, Locator, LocatorKind, clean_text, parse_locator


@pytest.mark.parametrize(
    ("text", "canonical", "display"),
    [
        ("example.com", "domain:example.com", "example.com"),
        ("Example.COM.", "domain:example.com", "example.com"),
        ("Bücher.de", "domain:xn--bcher-kva.de", "bücher.de"),
        ("www.contoh.co.id", "domain:www.contoh.co.id", "www.contoh.co.id"),
        ("domain:Example.com", "domain:example.com", "example.com"),
        (" example.com, ", "domain:example.com", "example.com"),
        ("telegram.org", "domain:telegram.org", "telegram.org"),
    ],
)
def test_bare_domains(text: str, canonical: str, display: str) -> None:
    loc = parse_locator(text)
    assert loc.kind is LocatorKind.DOMAIN
    assert loc.canonical == canonical
    assert loc.display == display
    assert loc.url is None
    assert loc.domain is not None and f"domain:{loc.domain.name}" == canonical


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("\u200b", "empty"),
        ("()", "empty"),
        ("t.me..", "empty label"),
        ("a" * 64 + ".com", "at most 63"),
        ("co.id", "public suffix"),
        ("com", "top-level domain"),
        ("github.io", "public suffix"),
        ("localhost", "single-label"),
        ("1.2.3.4", "IP address"),
        ("javascript:alert(1)", "'javascript' link"),
        ("ftp://x.com", "'ftp' link"),
        ("https://x.com/" + "a" * 3000, "limit is 2048"),
        ("a" * 3000, "limit is 2048"),
        ("someone@example.com", "e-mail address"),
        ("hello world", "characters not allowed"),
        ("example.com\nexample.org", "control characters"),
        ("foo.bar://x", "unknown scheme"),
    ],
)
def test_refuses_with_helpful_message(text: str, fragment: str) -> None:
    with pytest.raises(InvalidLocator) as info:
        parse_locator(text)
    assert fragment in info.value.message
    assert info.value.field == "locator"
    assert info.value.to_dict()["error"] == "invalid_locator"


def test_non_text_is_refused() -> None:
    with pytest.raises(InvalidLocator):
        parse_locator(b"example.com")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "cleaned"),
    [
        ("  <https://x.com/a>, ", "https://x.com/a"),
        ("“t.me/name”.", "t.me/name"),
        ("(see t.me/name)", "see t.me/name"),
        ("https://x.com/wiki/A_(b)", "https://x.com/wiki/A_(b)"),
        ("https://x.com/wiki/A_(b))", "https://x.com/wiki/A_(b)"),
        ("\u200bt.me/na\u200bme\u2060", "t.me/name"),
        ("'example.com'", "example.com"),
        ("t.me/name?", "t.me/name"),
    ],
)
def test_clean_text_removes_copy_paste_wrapping_only(text: str, cleaned: str) -> None:
    assert clean_text(text) == cleaned


def test_locator_is_immutable_and_slotted() -> None:
    loc = parse_locator("example.com")
    with pytest.raises(dataclasses.FrozenInstanceError):
        loc.canonical = "domain:other.com"  # type: ignore[misc]
    assert not hasattr(loc, "__dict__")


def test_equality_and_hash_follow_the_canonical_key() -> None:
    a = parse_locator("http://example.com/a?utm_source=x")
    b = parse_locator("https://EXAMPLE.com/a")
    assert a == b
    assert len({a, b}) == 1
    assert a.item_key == a.canonical == str(a)


@pytest.mark.parametrize(
    ("text", "related"),
    [
        ("example.com", ()),
        ("www.example.com", ("domain:example.com",)),
        ("a.b.example.co.id", ("domain:b.example.co.id", "domain:example.co.id")),
        ("https://www.example.com/x", ("domain:www.example.com", "domain:example.com")),
        ("https://example.com/x", ("domain:example.com",)),
        ("https://a.b.blogspot.com/x", ("domain:a.b.blogspot.com", "domain:b.blogspot.com")),
        ("t.me/name/5", ("telegram:channel/name",)),
        ("t.me/name", ()),
        ("t.me/+AbCdEfGh12345678", ()),
        ("t.me/c/123456/7", ("telegram:private/123456",)),
    ],
)
def test_related_keys_are_broader_items_nearest_first(text: str, related: tuple[str, ...]) -> None:
    assert parse_locator(text).related_keys() == related


@pytest.mark.parametrize(
    "text",
    [
        "example.com",
        "https://www.Bücher.de/a b?x=1&utm_source=y",
        "http://example.com:8080/a/../b",
        "t.me/s/Name_1/77?single",
        "t.me/+AbCdEfGh12345678",
        "t.me/c/1234567890/55",
        "@SomeChannel",
    ],
)
def test_canonical_display_and_url_parse_back_to_the_same_key(text: str) -> None:
    loc = parse_locator(text)
    assert parse_locator(loc.canonical) == loc
    assert parse_locator(loc.display).canonical == loc.canonical
    if loc.url is not None:
        assert parse_locator(loc.url).canonical == loc.canonical


def test_hand_built_locator_must_match_its_kind() -> None:
    with pytest.raises(ValueError):
        Locator(kind=LocatorKind.DOMAIN, canonical="url:example.com/", display="x")
    with pytest.raises(ValueError):
        Locator(kind=LocatorKind.TELEGRAM_POST, canonical="telegram:post/a/1", display="x")


def test_telegram_locators_live_on_t_me() -> None:
    assert parse_locator("telegram.dog/name").domain == Domain("t.me")
