"""Every way of writing a Telegram link reduces to one canonical key per item."""

from __future__ import annotations

import pytest

from tangkal.errors import InvalidLocator
from tangkal.locators import Domain, LocatorKind, parse_locator

CHANNEL_FORMS = [
    "t.me/durovnews",
    "https://t.me/durovnews",
    "http://t.me/durovnews",
    "T.ME/DurovNews/",
    "https://T.ME/DurovNews",
    "https://www.t.me/durovnews",
    "telegram.me/durovnews",
    "https://telegram.me/durovnews",
    "telegram.dog/durovnews",
    "t.me/s/durovnews",
    "durovnews.t.me",
    "https://durovnews.t.me/",
    "tg://resolve?domain=durovnews",
    "tg:resolve?domain=DurovNews",
    "@durovnews",
    "@DurovNews",
    "t.me/durovnews?start=abc",
    "t.me/durovnews)",
    "(t.me/durovnews).",
    "t.me/durovnews,",
    "<https://t.me/durovnews>",
    '"t.me/durovnews"',
    "“https://t.me/durovnews”",
    "  t.me/durovnews \n",
    "\u200bt.me/durovnews\u200b",
    "\ufefft.me/durov\u200bnews",
    "telegram:channel/durovnews",
]

POST_FORMS = [
    "t.me/durovnews/123",
    "https://t.me/durovnews/123",
    "https://t.me/durovnews/123?single",
    "t.me/durovnews/123?comment=5",
    "t.me/durovnews/123?thread=9",
    "t.me/s/durovnews/123",
    "https://t.me/s/DurovNews/123/",
    "telegram.me/durovnews/123",
    "telegram.dog/DurovNews/123",
    "t.me/durovnews/7/123",  # forum topic 7, message 123
    "durovnews.t.me/123",
    "tg://resolve?domain=durovnews&post=123",
    "tg://resolve?post=123&domain=DurovNews",
    "t.me/durovnews/0123",
    "https://t.me/durovnews/123#fragment",
    "https://t.me/durovnews/123?utm_source=x",
    "t.me/durovnews/123.",
    "(https://t.me/durovnews/123?single)",
    "telegram:post/durovnews/123",
]

INVITE_FORMS = [
    "t.me/+AbCdEfGh12345678",
    "https://t.me/+AbCdEfGh12345678",
    "https://t.me/%2BAbCdEfGh12345678",
    "T.ME/+AbCdEfGh12345678/",
    "t.me/joinchat/AbCdEfGh12345678",
    "https://telegram.me/joinchat/AbCdEfGh12345678",
    "tg://join?invite=AbCdEfGh12345678",
    "telegram:invite/AbCdEfGh12345678",
]

PRIVATE_FORMS = [
    "t.me/c/1234567890/55",
    "https://t.me/c/1234567890/55",
    "https://t.me/c/1234567890/55?single",
    "https://t.me/c/1234567890/3/55",  # topic 3
    "tg://privatepost?channel=1234567890&post=55",
    "tg://privatepost?channel=-1001234567890&post=55",
    "telegram:private/1234567890/55",
]


@pytest.mark.parametrize("text", CHANNEL_FORMS)
def test_channel_forms_share_one_canonical(text: str) -> None:
    loc = parse_locator(text)
    assert loc.kind is LocatorKind.TELEGRAM_CHANNEL
    assert loc.canonical == "telegram:channel/durovnews"
    assert loc.url == "https://t.me/durovnews"
    assert loc.display == "t.me/durovnews"
    assert loc.channel == "durovnews"
    assert loc.post is None
    assert loc.domain == Domain("t.me")


@pytest.mark.parametrize("text", POST_FORMS)
def test_post_forms_share_one_canonical(text: str) -> None:
    loc = parse_locator(text)
    assert loc.kind is LocatorKind.TELEGRAM_POST
    assert loc.canonical == "telegram:post/durovnews/123"
    assert loc.url == "https://t.me/durovnews/123"
    assert (loc.channel, loc.post) == ("durovnews", 123)
    assert loc.related_keys() == ("telegram:channel/durovnews",)
    assert loc.channel_key == "telegram:channel/durovnews"


@pytest.mark.parametrize("text", INVITE_FORMS)
def test_invite_forms_share_one_canonical(text: str) -> None:
    loc = parse_locator(text)
    assert loc.kind is LocatorKind.TELEGRAM_INVITE
    assert loc.canonical == "telegram:invite/AbCdEfGh12345678"
    assert loc.url == "https://t.me/+AbCdEfGh12345678"
    assert loc.invite == "AbCdEfGh12345678"
    assert loc.related_keys() == ()


def test_invite_hashes_are_case_sensitive() -> None:
    upper = parse_locator("t.me/+ABCDEFGH12345678")
    lower = parse_locator("t.me/+abcdefgh12345678")
    assert upper.canonical != lower.canonical
    assert upper != lower


def test_usernames_are_case_insensitive() -> None:
    assert parse_locator("t.me/ABCD_efgh") == parse_locator("t.me/abcd_EFGH")


@pytest.mark.parametrize("text", PRIVATE_FORMS)
def test_private_post_forms_share_one_canonical(text: str) -> None:
    loc = parse_locator(text)
    assert loc.kind is LocatorKind.TELEGRAM_PRIVATE_POST
    assert loc.canonical == "telegram:private/1234567890/55"
    assert loc.url == "https://t.me/c/1234567890/55"
    assert (loc.channel, loc.post) == ("1234567890", 55)
    assert loc.related_keys() == ("telegram:private/1234567890",)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("t.me/share/url?url=https://example.com", "feature link"),
        ("t.me/addstickers/SomePack", "feature link"),
        ("t.me/proxy?server=1.2.3.4&port=443", "feature link"),
        ("t.me/socks?server=x", "feature link"),
        ("t.me/addlist/abcdefgh", "feature link"),
        ("t.me/abc", "not a Telegram username"),  # 3 characters
        ("t.me/" + "a" * 33, "not a Telegram username"),
        ("t.me/1abcde", "not a Telegram username"),
        ("t.me/ab-cd", "not a Telegram username"),
        ("@abc", "not a Telegram username"),
        ("t.me/name/abc", "not a valid post number"),
        ("t.me/name/0", "not a valid post number"),
        ("t.me/name/99999999999", "not a valid post number"),
        ("t.me/name/1/2/3", "more path parts"),
        ("t.me/c/1234567890", "needs a post number"),
        ("t.me/c/abc/5", "not a private channel id"),
        ("t.me/+6281234567890", "phone-number link"),
        ("t.me/+abc", "not a Telegram invite code"),
        ("t.me/joinchat", "joinchat"),
        ("t.me/+AbCdEfGh12345678/5", "nothing after the code"),
        ("t.me/s", "needs a channel name"),
        ("tg://resolve?phone=6281234", "phone-number"),
        ("tg://msg_url?url=x", "not a tg: link"),
        ("tg://settings", "not a channel, post or invite"),
        ("a.b.t.me", "not a Telegram link form"),
        ("telegram:channel/", "not a valid telegram: key"),
        ("telegram:bogus/x", "not a valid telegram: key"),
    ],
)
def test_refuses_non_content_and_malformed_telegram_links(text: str, fragment: str) -> None:
    with pytest.raises(InvalidLocator) as info:
        parse_locator(text)
    assert fragment in info.value.message
    assert info.value.field == "locator"


def test_four_letter_auctioned_usernames_are_accepted() -> None:
    assert parse_locator("t.me/abcd").canonical == "telegram:channel/abcd"


def test_site_root_of_t_me_is_a_url_not_a_channel() -> None:
    loc = parse_locator("https://t.me/")
    assert loc.kind is LocatorKind.URL
    assert loc.canonical == "url:t.me/"


def test_bare_t_me_is_the_domain() -> None:
    loc = parse_locator("t.me")
    assert loc.kind is LocatorKind.DOMAIN
    assert loc.canonical == "domain:t.me"


def test_telegram_org_links_are_ordinary_urls() -> None:
    loc = parse_locator("https://telegram.org/blog")
    assert loc.kind is LocatorKind.URL
    assert loc.canonical == "url:telegram.org/blog"
