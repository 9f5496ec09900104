"""Domain values: normalisation, refusals and the public-suffix rail."""

from __future__ import annotations

import dataclasses

import pytest

from tangkal.errors import InvalidLocator
from tangkal.locators import Domain, is_public_suffix, parse_domain


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("WWW.Contoh.CO.ID.", "www.contoh.co.id"),
        ("  example.com  ", "example.com"),
        ("example.com.", "example.com"),
        ("BÜCHER.de", "xn--bcher-kva.de"),
        ("bücher.de", "xn--bcher-kva.de"),
        ("xn--bcher-kva.de", "xn--bcher-kva.de"),
        ("XN--BCHER-KVA.DE", "xn--bcher-kva.de"),
        ("ｅｘａｍｐｌｅ．com", "example.com"),  # full-width letters and dot (UTS #46)
        ("example。com", "example.com"),  # ideographic full stop
        ("exa\u200bmple.com", "example.com"),  # zero-width space is ignorable
        ("straße.de", "xn--strae-oqa.de"),  # non-transitional: ß kept, not mapped to ss
        ("пример.рф", "xn--e1afmkfd.xn--p1ai"),
        ("_dmarc.example.com", "_dmarc.example.com"),  # underscore left of registrable
        ("-foo-.www.example.com", "-foo-.www.example.com"),
        ("r3---sn-abc.googlevideo.com", "r3---sn-abc.googlevideo.com"),
        ("foo.github.io", "foo.github.io"),
        ("a" * 63 + ".com", "a" * 63 + ".com"),
    ],
)
def test_parse_normalises_to_lowercase_a_labels(text: str, name: str) -> None:
    assert Domain.parse(text).name == name


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("t.me..", "empty label"),
        (".example.com", "empty label"),
        ("a..example.com", "empty label"),
        ("a" * 64 + ".com", "at most 63"),
        (".".join(["a" * 60] * 5) + ".com", "at most 253"),
        ("co.id", "public suffix"),
        ("com", "top-level domain"),
        ("github.io", "public suffix"),
        ("blogspot.com", "public suffix"),
        ("localhost", "single-label"),
        ("1.2.3.4", "IP address"),
        ("::1", "IP address"),
        ("[2001:db8::1]", "IP address"),
        ("127.1", "IP address"),
        ("example.notatld", "not a known top-level domain"),
        ("exa mple.com", "characters not allowed"),
        ("exa$mple.com", "characters not allowed"),
        ("my_site.com", "registrable domain"),
        ("-example.com", "registrable domain"),
        ("-foo-.blogspot.com", "registrable domain"),
        ("example-.com", "registrable domain"),
        ("*.example.com", "wildcard"),
        ("😀.com", "IDNA 2008"),
        ("xn--zz.com", "xn--"),
    ],
)
def test_parse_refuses_with_actionable_message(text: str, fragment: str) -> None:
    with pytest.raises(InvalidLocator) as info:
        Domain.parse(text)
    assert fragment in info.value.message
    assert info.value.field == "domain"


def test_public_suffix_message_suggests_a_registrable_example() -> None:
    with pytest.raises(InvalidLocator, match=r"example\.co\.id"):
        Domain.parse("co.id")


@pytest.mark.parametrize("text", ["co.id", "github.io", "blogspot.com", "kawasaki.jp"])
def test_public_suffix_allowed_when_asked(text: str) -> None:
    domain = Domain.parse(text, allow_public_suffix=True)
    assert domain.is_public_suffix
    assert domain.registrable is None
    assert domain.parent is None


def test_single_label_refused_even_when_public_suffix_allowed() -> None:
    with pytest.raises(InvalidLocator):
        Domain.parse("com", allow_public_suffix=True)


def test_properties_of_a_subdomain() -> None:
    domain = Domain.parse("WWW.Contoh.CO.ID.")
    assert domain == Domain(name="www.contoh.co.id")
    assert domain.registrable == "contoh.co.id"
    assert domain.public_suffix == "co.id"
    assert domain.labels == ("www", "contoh", "co", "id")
    assert domain.parent == Domain("contoh.co.id")
    assert domain.parent.parent is None  # type: ignore[union-attr]
    assert str(domain) == "www.contoh.co.id"


def test_private_section_suffix_gives_registrable_under_it() -> None:
    domain = Domain.parse("a.b.blogspot.com")
    assert domain.public_suffix == "blogspot.com"
    assert domain.registrable == "b.blogspot.com"
    assert domain.ancestors() == (Domain("b.blogspot.com"),)


def test_unicode_form_is_for_display() -> None:
    domain = Domain.parse("BÜCHER.de")
    assert domain.name == "xn--bcher-kva.de"
    assert domain.unicode == "bücher.de"


@pytest.mark.parametrize(
    ("child", "parent", "expected"),
    [
        ("www.example.com", "example.com", True),
        ("example.com", "example.com", True),
        ("a.b.example.com", "b.example.com", True),
        ("badexample.com", "example.com", False),
        ("example.com", "www.example.com", False),
        ("example.org", "example.com", False),
    ],
)
def test_is_subdomain_of_compares_whole_labels(child: str, parent: str, expected: bool) -> None:
    assert Domain.parse(child).is_subdomain_of(Domain.parse(parent)) is expected


def test_domain_is_immutable_and_slotted() -> None:
    domain = Domain.parse("example.com")
    with pytest.raises(dataclasses.FrozenInstanceError):
        domain.name = "other.com"  # type: ignore[misc]
    assert not hasattr(domain, "__dict__")
    assert hash(domain) == hash(Domain("example.com"))


@pytest.mark.parametrize("text", ["Example.com", "example.com.", "bücher.de", "localhost"])
def test_constructor_accepts_only_canonical_names(text: str) -> None:
    with pytest.raises(InvalidLocator):
        Domain(text)


def test_constructor_accepts_stored_public_suffix() -> None:
    assert Domain("github.io").is_public_suffix


def test_domains_sort_by_name() -> None:
    names = [Domain("b.com"), Domain("a.com")]
    assert [d.name for d in sorted(names)] == ["a.com", "b.com"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("co.id", True),
        ("CO.ID.", True),
        ("com", True),
        ("github.io", True),
        ("blogspot.com", True),
        ("example.com", False),
        ("foo.github.io", False),
        ("not a domain", False),
        ("", False),
    ],
)
def test_is_public_suffix(text: str, expected: bool) -> None:
    assert is_public_suffix(text) is expected


def test_is_public_suffix_accepts_domain_value() -> None:
    assert is_public_suffix(Domain("github.io"))
    assert not is_public_suffix(Domain("example.com"))


def test_parse_domain_is_the_function_form() -> None:
    assert parse_domain("Example.COM") == Domain("example.com")
    with pytest.raises(InvalidLocator):
        parse_domain("co.id")
    assert parse_domain("co.id", allow_public_suffix=True).name == "co.id"
