"""Organisations and console users for web tests, made through the real command line."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support import LiveServer, unique

PASSWORD = "kata-sandi-rahasia-2017"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Cast:
    regulator: str
    platform: str
    other_platform: str
    analyst: str = "analis"
    official: str = "pejabat"
    moderator: str = "moderator"


_casts: dict[str, Cast] = {}


def cast(live: LiveServer) -> Cast:
    """A regulator with an analyst and an official, and two platforms with a moderator each;
    made once per server (each CLI call costs a second), tests keep their data apart by
    unique names of their own."""
    if live.url in _casts:
        return _casts[live.url]
    c = Cast(unique("kominfo"), unique("telegram"), unique("lain"))
    for kind, name in (
        ("regulator", c.regulator),
        ("platform", c.platform),
        ("platform", c.other_platform),
    ):
        r = live.cli("org", "create", "--kind", kind, "--name", name)
        assert r.returncode == 0, r.stderr
    for org, user, role in (
        (c.regulator, c.analyst, "analyst"),
        (c.regulator, c.official, "official"),
        (c.platform, c.moderator, "moderator"),
        (c.other_platform, c.moderator, "moderator"),
    ):
        live.user(org, user, role, PASSWORD)
    _casts[live.url] = c
    return c


def csrf(html: str) -> str:
    m = _CSRF.search(html)
    assert m, "no CSRF field on the page"
    return m.group(1)


def browser_client(live: LiveServer) -> httpx.Client:
    return httpx.Client(base_url=live.url, timeout=30, follow_redirects=False)


def sign_in(client: httpx.Client, org: str, user: str, password: str = PASSWORD) -> httpx.Response:
    token = csrf(client.get("/login").text)
    return client.post(
        "/login",
        data={
            "org": org,
            "username": user,
            "password": password,
            "csrf_token": token,
            "next": "/console",
        },
    )


def fresh_cast(live: LiveServer) -> Cast:
    """The same organisations as :func:`cast`, with console users of this test's own.

    Sign-in is rate limited per account (ten attempts in five minutes), so tests that sign in
    often must not share one account: each gets its own analyst, official and moderators."""
    base = cast(live)
    names = {
        "analyst": unique("analis"),
        "official": unique("pejabat"),
        "moderator": unique("moderator"),
    }
    for org, field_, role in (
        (base.regulator, "analyst", "analyst"),
        (base.regulator, "official", "official"),
        (base.platform, "moderator", "moderator"),
        (base.other_platform, "moderator", "moderator"),
    ):
        live.user(org, names[field_], role, PASSWORD)
    return Cast(base.regulator, base.platform, base.other_platform, **names)


#: The login form's labels (organisation, user name, password, button) per language.
LOGIN_LABELS = {
    "id": ("Organisasi", "Nama pengguna", "Kata sandi", "Masuk"),
    "en": ("Organisation", "User name", "Password", "Sign in"),
}


def sign_in_page(page: Any, live: LiveServer, org: str, user: str, lang: str = "id") -> None:
    """Sign ``user`` in through the login form in ``lang`` (Indonesian by default) in a real
    browser page, as a person would (the cookies of whoever was signed in before are dropped
    first)."""
    org_label, user_label, password_label, button = LOGIN_LABELS[lang]
    page.context.clear_cookies()
    page.goto(f"{live.url}/login?lang={lang}")
    page.get_by_label(org_label).fill(org)
    page.get_by_label(user_label).fill(user)
    page.get_by_label(password_label).fill(PASSWORD)
    page.get_by_role("button", name=button).click()
    page.wait_for_url(re.compile(r"/console"))
