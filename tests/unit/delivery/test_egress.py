"""The connect-time check: what a webhook may reach is decided on the resolved address."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tangkal.delivery.egress import GuardedTransport, forbidden_reason
from tangkal.delivery.worker import summarise_failure
from tangkal.errors import WebhookRefused
from tests.support import free_port

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.0.1", "private"),
        ("fd00::1", "private"),
        ("100.64.0.1", "CGNAT"),
        ("224.0.0.251", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("192.0.2.1", "private"),  # documentation: not globally routable
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "link-local"),
        ("2002:a00:1::", "private"),  # 6to4 of 10.0.0.1
        ("64:ff9b::7f00:1", "loopback"),  # NAT64 of 127.0.0.1
    ],
)
def test_inside_addresses_are_refused(address: str, reason: str) -> None:
    found = forbidden_reason(ipaddress.ip_address(address))
    assert found is not None and reason in found


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2001:4860:4860::8888"])
def test_public_addresses_pass(address: str) -> None:
    assert forbidden_reason(ipaddress.ip_address(address)) is None


def test_the_allow_list_opens_its_networks_only() -> None:
    allow = (ipaddress.ip_network("10.20.0.0/16"),)
    assert forbidden_reason(ipaddress.ip_address("10.20.3.4"), allow) is None
    assert forbidden_reason(ipaddress.ip_address("::ffff:10.20.3.4"), allow) is None
    assert forbidden_reason(ipaddress.ip_address("10.21.0.1"), allow) is not None
    assert forbidden_reason(ipaddress.ip_address("127.0.0.1"), allow) is not None


class _Receiver:
    """A loopback HTTP server that counts the connections it accepts and the Host headers."""

    def __init__(self) -> None:
        self.port = free_port()
        self.hosts: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.hosts.append(self.headers.get("Host", ""))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    r = _Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def _post(url: str, allow: tuple[Any, ...]) -> int:
    async def go() -> int:
        async with httpx.AsyncClient(transport=GuardedTransport(allow), timeout=5) as client:
            return (await client.post(url, content=b"{}")).status_code

    return asyncio.run(go())


def test_a_name_that_resolves_inside_is_refused_when_connecting(receiver: _Receiver) -> None:
    """``localhost`` passes the registration check (a name), and is refused on the address
    it resolves to: the check that DNS rebinding cannot get past."""
    assert "127.0.0.1" in {i[4][0] for i in socket.getaddrinfo("localhost", receiver.port)}
    with pytest.raises(WebhookRefused) as caught:
        _post(f"http://localhost:{receiver.port}/hook", ())
    assert "loopback" in caught.value.message
    with pytest.raises(WebhookRefused):
        _post(f"http://127.0.0.1:{receiver.port}/hook", ())
    assert receiver.hosts == []  # nothing reached the receiver


def test_an_allowed_network_is_reached_under_the_urls_own_host(receiver: _Receiver) -> None:
    assert _post(f"http://localhost:{receiver.port}/hook", LOOPBACK) == 204
    assert receiver.hosts == [f"localhost:{receiver.port}"]  # Host is the URL's, not the IP


def test_a_failed_answer_is_summarised_short_and_printable() -> None:
    body = b"root:x:0:0\r\n\x1b[31m" + b"A" * 500
    summary = summarise_failure(500, body)
    assert summary.startswith("HTTP 500 Internal Server Error: root:x:0:0 ")
    assert "\r" not in summary and "\n" not in summary and "\x1b" not in summary
    assert len(summary) <= len("HTTP 500 Internal Server Error: ") + 100
    assert summarise_failure(599, b"") == "HTTP 599"
