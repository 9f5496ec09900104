"""Webhook URLs are parsed at the edge: the forms of issue 12's finding 2 are refused."""

from __future__ import annotations

import ipaddress

import pytest

from tangkal.delivery.webhook_url import parse_webhook_url
from tangkal.errors import InvalidInput

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://127.0.0.1:5432/", "https://"),
        ("https://127.0.0.1:5432/", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "https://"),
        ("https://169.254.169.254/latest/meta-data/", "link-local"),
        ("https://[::1]:22/", "loopback"),
        ("https://[::ffff:127.0.0.1]/", "loopback"),
        ("https://[::ffff:10.0.0.1]/", "private"),
        ("https://[2002:7f00:1::]/", "loopback"),  # 6to4 of 127.0.0.1
        ("https://[64:ff9b::a9fe:a9fe]/", "link-local"),  # NAT64 of 169.254.169.254
        ("https://[fe80::1%25eth0]/", "neither a DNS name"),
        ("https://0x7f000001/", "neither a DNS name"),
        ("https://2130706433/", "neither a DNS name"),
        ("https://127.1/", "neither a DNS name"),
        ("https://0177.0.0.1/", "neither a DNS name"),
        ("https://%31%32%37.0.0.1/", "neither a DNS name"),
        ("https://10.0.0.1/", "private"),
        ("https://192.168.1.1/", "private"),
        ("https://100.64.0.1/", "CGNAT"),
        ("https://224.0.0.1/", "multicast"),
        ("https://0.0.0.0/", "unspecified"),
        ("https://240.0.0.1/", "reserved"),
        ("https://user:secret@hooks.example.com/", "user name or password"),
        ("https://evil.example\\@127.0.0.1/", "user name or password"),
        ("https://hooks.example.com/a\r\nX-Injected: 1", "control characters"),
        ("https://hooks.example.com/a b", "control characters"),
        ("https://hooks.example.com/\x00", "control characters"),
        ("https://hooks.example.com#frag", "fragment"),
        ("ftp://hooks.example.com/", "https://"),
        ("https:///path", "needs a host"),
        ("https://hooks.example.com:0/", "port"),
        ("https://hooks.example.com:99999/", "not a URL"),
        ("https://[::1/", "not a URL"),
        ("https://bad_host!.example.com/", "neither a DNS name"),
    ],
)
def test_refused_with_a_message_naming_the_field(url: str, says: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_webhook_url(url)
    assert caught.value.field == "webhook_url"
    assert says in caught.value.message


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("https://Hooks.Example.COM:443/x?y=1", "https://hooks.example.com/x?y=1"),
        ("https://bücher.de:8443", "https://xn--bcher-kva.de:8443/"),
        ("https://8.8.8.8/h", "https://8.8.8.8/h"),
        ("HTTPS://[2001:4860:0::8888]:444/h", "https://[2001:4860::8888]:444/h"),
    ],
)
def test_accepted_in_canonical_form(url: str, canonical: str) -> None:
    assert parse_webhook_url(url).url == canonical


def test_http_and_loopback_only_with_the_explicit_allowances() -> None:
    url = "http://127.0.0.1:9/hook"
    with pytest.raises(InvalidInput):
        parse_webhook_url(url, allow_http=True)  # http allowed, loopback not
    with pytest.raises(InvalidInput):
        parse_webhook_url(url, allow_networks=LOOPBACK)  # loopback allowed, http not
    parsed = parse_webhook_url(url, allow_http=True, allow_networks=LOOPBACK)
    assert (parsed.url, parsed.port, str(parsed.ip)) == (url, 9, "127.0.0.1")
    with pytest.raises(InvalidInput):  # the allowance is that network, not every inside one
        parse_webhook_url("http://10.0.0.1/", allow_http=True, allow_networks=LOOPBACK)
