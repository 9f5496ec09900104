"""http(s) URLs: canonical keys that survive the usual variations, and refusals."""

from __future__ import annotations

import pytest

from tangkal.errors import InvalidLocator
from tangkal.locators import Domain, LocatorKind, parse_locator


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("https://example.com", "url:example.com/"),
        ("HTTPS://EXAMPLE.COM/", "url:example.com/"),
        ("http://example.com/", "url:example.com/"),
        ("https://example.com:443/", "url:example.com/"),
        ("http://example.com:80/", "url:example.com/"),
        ("https://example.com:8443/x", "url:example.com:8443/x"),
        ("https://example.com:80/", "url:example.com:80/"),
        ("https://example.com/a#section", "url:example.com/a"),
        ("https://example.com/Path/Case", "url:example.com/Path/Case"),
        ("https://example.com/a/", "url:example.com/a/"),
        ("https://example.com/a/./b/../c", "url:example.com/a/c"),
        ("https://example.com/../../a", "url:example.com/a"),
        ("https://example.com/a/%2E%2E/b", "url:example.com/b"),
        ("https://example.com/%7euser", "url:example.com/~user"),
        ("https://example.com/%41%62", "url:example.com/Ab"),
        ("https://example.com/a%2fb", "url:example.com/a%2Fb"),
        ("https://example.com/a%e2%82%ac", "url:example.com/a%E2%82%AC"),
        ("https://example.com/a€", "url:example.com/a%E2%82%AC"),
        ("https://example.com/a b", "url:example.com/a%20b"),
        ("https://example.com/100%", "url:example.com/100%25"),
        ("https://example.com/?", "url:example.com/"),
        ("https://example.com/?b=2&a=1", "url:example.com/?b=2&a=1"),
        ("https://example.com/?utm_source=x&utm_medium=y", "url:example.com/"),
        ("https://example.com/p?id=7&utm_campaign=z&fbclid=abc", "url:example.com/p?id=7"),
        ("https://example.com/p?gclid=1&id=7&igshid=2&si=3", "url:example.com/p?id=7"),
        ("https://example.com/p?UTM_Source=x&id=7", "url:example.com/p?id=7"),
        ("https://example.com/p?a=1&&b=2", "url:example.com/p?a=1&b=2"),
        ("https://example.com/p?q=a%20b&x", "url:example.com/p?q=a%20b&x"),
        ("https://WWW.Contoh.CO.ID./berita", "url:www.contoh.co.id/berita"),
        ("https://bücher.de/", "url:xn--bcher-kva.de/"),
        ("https://ex%61mple.com/", "url:example.com/"),
        ("example.com/path", "url:example.com/path"),
        ("example.com:8080", "url:example.com:8080/"),
        ("www.example.com/?q=1", "url:www.example.com/?q=1"),
        ("http://8.8.8.8/x", "url:8.8.8.8/x"),
        ("http://[2001:4860:4860::8888]/", "url:[2001:4860:4860::8888]/"),
        ("https://en.wikipedia.org/wiki/Foo_(bar)", "url:en.wikipedia.org/wiki/Foo_(bar)"),
        ("(https://en.wikipedia.org/wiki/Foo_(bar))", "url:en.wikipedia.org/wiki/Foo_(bar)"),
        ("<https://example.com/a>.", "url:example.com/a"),
        ("url:example.com/a?b=1", "url:example.com/a?b=1"),
    ],
)
def test_url_canonical(text: str, canonical: str) -> None:
    loc = parse_locator(text)
    assert loc.kind is LocatorKind.URL
    assert loc.canonical == canonical


def test_http_and_https_are_one_item_but_keep_their_scheme_for_clicking() -> None:
    plain = parse_locator("http://example.com/a")
    secure = parse_locator("https://example.com/a")
    assert plain == secure
    assert plain.url == "http://example.com/a"
    assert secure.url == "https://example.com/a"


def test_url_fields() -> None:
    loc = parse_locator("https://www.Bücher.de/a?utm_source=x&id=1")
    assert loc.url == "https://www.xn--bcher-kva.de/a?id=1"
    assert loc.display == "https://www.bücher.de/a?id=1"
    assert loc.domain == Domain("www.xn--bcher-kva.de")
    assert loc.channel is None and loc.post is None
    assert loc.related_keys() == ("domain:www.xn--bcher-kva.de", "domain:xn--bcher-kva.de")


def test_url_on_ip_host_has_no_domain() -> None:
    loc = parse_locator("http://1.1.1.1/")
    assert loc.domain is None
    assert loc.related_keys() == ()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("javascript:alert(1)", "'javascript' link"),
        ("ftp://x.com/file", "'ftp' link"),
        ("file:///etc/passwd", "'file' link"),
        ("data:text/html,hi", "'data' link"),
        ("mailto:a@example.com", "'mailto' link"),
        ("https://" + "a" * 3000 + ".com/", "limit is 2048"),
        ("https://example.com/" + "a" * 3000, "limit is 2048"),
        ("https://user:pw@example.com/", "user name or password"),
        ("https://example.com@evil.com/", "user name or password"),
        ("https://example.com\\@evil.com/", "backslash"),
        ("https://exa\tmple.com/", "control characters"),
        ("https://example.com/a\nb", "control characters"),
        ("https://example.com/\x00", "control characters"),
        ("https:///path", "no host"),
        ("https://example.com:99999/", "invalid port"),
        ("https://example.com:0/", "invalid port"),
        ("https://example.com:ab/", "invalid port"),
        ("https://co.id/", "public suffix"),
        ("https://github.io/", "public suffix"),
        ("https://localhost/", "single-label"),
        ("http://127.0.0.1/", "loopback"),
        ("http://10.0.0.1/", "private"),
        ("http://192.168.1.1/admin", "private"),
        ("http://169.254.169.254/latest", "private"),
        ("http://[::1]/", "loopback"),
        ("http://[::ffff:10.0.0.1]/", "private"),
        ("http://[zz::1]/", "invalid IPv6"),
        ("http://2001:db8::1/", "more than one ':'"),
        ("http://127.1/", "IP address"),
        ("https://t.me../x", "empty label"),
        ("gopher://example.com", "'gopher' link"),
    ],
)
def test_refuses_bad_urls(text: str, fragment: str) -> None:
    with pytest.raises(InvalidLocator) as info:
        parse_locator(text)
    assert fragment in info.value.message
    assert info.value.field == "locator"
