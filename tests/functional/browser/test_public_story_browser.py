"""Issue 13's story in real headless Chromium, in Indonesian and in English: an analyst files
an order with evidence; the platform's moderator finds it at the top of the inbox (by time
left, above an order filed earlier with a longer deadline) and answers with the statement of
reasons; an analyst asks for a block of the platform's domain and two officials approve it;
a member of the public pastes a URL under that domain, sees the order's reference and legal
basis, appeals and follows the appeal; an official takes it under review and upholds it,
which lifts the block, and the appellant reads the decision and its reasons.

Selectors go by role and label, with the words taken from the catalogues the pages use
(``Formatter``), so a reworded label or a new inbox layout does not break the story."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tangkal.web.i18n import Formatter
from tests.functional.browser.conftest import shoot
from tests.functional.browser.people import PASSWORD, cast
from tests.support import LiveServer, unique

pytestmark = pytest.mark.browser

PUBLIC_ADDRESS = {"id": "203.0.113.61", "en": "203.0.113.62"}
STATEMENT = "Situs toko roti saya ada di bawah nama ini; isinya bukan propaganda."


@dataclass(frozen=True)
class Story:
    regulator: str
    analyst: str
    alice: str
    bob: str
    platform: str
    moderator: str
    domain: str


def _story(live: LiveServer) -> Story:
    """People of this test's own: a platform with a registered domain (so blocking it is a
    whole-service block that needs two officials), its moderator, an analyst and two
    officials of the regulator."""
    base = cast(live)
    platform = unique("layanan")
    domain = f"{platform}.example.org"
    r = live.cli("org", "create", "--kind", "platform", "--name", platform, "--domain", domain)
    assert r.returncode == 0, r.stderr
    names = {k: unique(k) for k in ("analis", "alice", "bob", "mod")}
    for org, user, role in (
        (base.regulator, names["analis"], "analyst"),
        (base.regulator, names["alice"], "official"),
        (base.regulator, names["bob"], "official"),
        (platform, names["mod"], "moderator"),
    ):
        live.user(org, user, role, PASSWORD)
    return Story(
        base.regulator,
        names["analis"],
        names["alice"],
        names["bob"],
        platform,
        names["mod"],
        domain,
    )


class Words:
    """The pages' words in one language, from the same catalogues the server reads."""

    def __init__(self, lang: str) -> None:
        self.fmt = Formatter(lang)

    def __call__(self, message: str, **values: Any) -> str:
        text = self.fmt.gettext(message)
        return text % values if values else text

    def label(self, table: str, value: str) -> str:
        return self.fmt.label(table, value)


def _sign_in(page: Any, live: LiveServer, t: Words, lang: str, org: str, user: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{live.url}/login?lang={lang}")
    page.get_by_label(t("Organisation")).fill(org)
    page.get_by_label(t("User name")).fill(user)
    page.get_by_label(t("Password")).fill(PASSWORD)
    page.get_by_role("button", name=t("Sign in")).click()
    page.wait_for_url(re.compile(r"/console"))


def _nav(page: Any, t: Words, name: str) -> None:
    page.get_by_role("navigation", name=t("Main")).get_by_role("link", name=t(name)).click()


@pytest.mark.parametrize("lang", ["id", "en"])
def test_order_answer_block_lookup_appeal_and_an_upheld_decision(
    page: Any, live: LiveServer, tmp_path: Path, lang: str
) -> None:
    from PIL import Image

    t = Words(lang)
    s = _story(live)
    shot = f"story-{lang}"

    # an order filed earlier with the longer deadline (24 h) ...
    with live.client(live.token(s.regulator, "analyst")) as api:
        r = api.post(
            "/api/v1/orders",
            json={
                "platform": s.platform,
                "category": "gambling",
                "locators": [f"https://judi.{s.domain}/"],
                "legal_basis": "UU 1/2024 (ITE) Pasal 27 ayat 2",
                "reason": "Online gambling",
            },
        )
        assert r.status_code == 201, r.text
        earlier = r.json()["reference"]

    # ... then the analyst files an urgent one (4 h) with evidence in the console
    evidence = tmp_path / "tangkapan-layar.png"
    Image.new("RGB", (64, 48), (200, 30, 30)).save(evidence, "PNG")
    _sign_in(page, live, t, lang, s.regulator, s.analyst)
    _nav(page, t, "New order")
    page.get_by_label(t("Platform"), exact=True).select_option(s.platform)
    page.get_by_label(t("Category"), exact=True).select_option("terrorism")
    expect(page.get_by_label(t("Legal basis"), exact=True)).to_have_value(re.compile("UU 5/2018"))
    page.get_by_label(t("Content to take down — one URL, domain or Telegram link per line")).fill(
        f"https://web.{s.domain}/k/post/7"
    )
    page.get_by_label(t("Reason (shown to the platform)")).fill("Bomb-making instructions.")
    page.get_by_label(t("Evidence (optional; screenshots, archives)")).set_input_files(
        str(evidence)
    )
    page.get_by_role("button", name=t("File order")).click()
    page.wait_for_url(re.compile(r"/console/orders/[0-9a-f-]{36}$"))
    heading = page.get_by_role("heading", level=1).inner_text()
    found = re.search(r"ORD-\d{8}-[0-9A-F]{12}", heading)
    assert found, heading
    reference = found.group(0)
    expect(page.get_by_role("link", name=evidence.name)).to_be_visible()
    shoot(page, f"{shot}-1-order-filed")

    # the moderator finds it at the top of the inbox and answers with the statement of reasons
    _sign_in(page, live, t, lang, s.platform, s.moderator)
    orders = page.get_by_role("main").get_by_role(
        "link", name=re.compile(f"^({reference}|{earlier})$")
    )
    expect(orders).to_have_count(2)
    expect(orders.first).to_have_text(reference)
    shoot(page, f"{shot}-2-inbox")
    orders.first.click()
    page.get_by_role("button", name=t("Acknowledge receipt")).click()
    expect(page.get_by_role("button", name=t("Acknowledge receipt"))).to_have_count(0)
    page.get_by_label(t.label("action", "removed")).check()
    page.get_by_label(t.label("dsa_field", "decision_facts")).fill(
        "The post was removed within the hour; the channel was closed."
    )
    page.get_by_role("button", name=t("Send response")).click()
    expect(
        page.get_by_text(t("Your answer and statement of reasons were recorded."))
    ).to_be_visible()
    shoot(page, f"{shot}-3-answered")

    # the analyst asks for a block of the platform's domain, with the order's reference
    _sign_in(page, live, t, lang, s.regulator, s.analyst)
    _nav(page, t, "Blocks")
    page.get_by_role("link", name=t("New block")).click()
    page.get_by_label(t("Domain name"), exact=True).fill(s.domain)
    # the proportionality assessment answers as the analyst types (htmx): let it arrive
    # before going on, so its swap never races the submission
    expect(page.locator("#assessment .big-name")).to_have_text(s.domain)
    page.get_by_label(t("Category"), exact=True).select_option("terrorism")
    page.get_by_label(t("Order or case reference (optional)")).fill(reference)
    page.get_by_label(t("Reason"), exact=True).fill("The platform left the manuals up.")
    page.get_by_role("button", name=t("Create block")).click()
    page.wait_for_url(re.compile(r"/console/blocks/[0-9a-f-]{36}$"))
    block_url = page.url
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        t.label("status", "pending_approval")
    )

    # two officials approve it, one after the other
    for official in (s.alice, s.bob):
        _sign_in(page, live, t, lang, s.regulator, official)
        page.goto(block_url)
        page.get_by_role("button", name=t("Approve"), exact=True).click()
        page.wait_for_load_state()
    expect(page.get_by_role("heading", level=1)).to_contain_text(t.label("status", "active"))
    shoot(page, f"{shot}-4-block-active")

    # a member of the public pastes a URL under the domain, from an address of their own
    # (the server trusts X-Forwarded-For from its loopback proxy), so the limit on appeals
    # per address counts theirs, not the whole session's
    page.context.clear_cookies()
    page.context.set_extra_http_headers({"X-Forwarded-For": PUBLIC_ADDRESS[lang]})
    pasted = f"https://web.{s.domain}/k/#@kanal_resmi"
    page.goto(f"{live.url}/public/lookup?lang={lang}")
    page.get_by_label(t("Domain name or address (URL)")).fill(pasted)
    page.get_by_role("button", name=t("Check")).click()
    result = page.get_by_role("region", name=t("%(name)s is blocked", name=f"web.{s.domain}"))
    expect(result).to_contain_text(reference)
    expect(result).to_contain_text("UU 5/2018")  # the order's and the block's legal basis
    expect(result).to_contain_text(
        t(
            "It is covered by the block on %(parent)s, which also applies to every name "
            "beneath it.",
            parent=s.domain,
        )
    )
    shoot(page, f"{shot}-5-lookup")
    page.get_by_role("link", name=t("Appeal this block")).click()
    page.get_by_label(t("Your e-mail address")).fill("warga@contoh.co.id")
    page.get_by_label(t("Why should the block be lifted?")).fill(STATEMENT)
    page.get_by_role("button", name=t("Send appeal")).click()
    receipt = page.get_by_role("status").filter(has_text=t("Your appeal was received."))
    expect(receipt).to_contain_text(t("Your appeal was received."))
    text = receipt.inner_text()
    appeal_ref = re.search(r"AP-[0-9A-F]{10}", text)
    code = re.search(r"[A-Z2-9]{4}(?:-[A-Z2-9]{4}){3}", text)
    assert appeal_ref and code, text
    shoot(page, f"{shot}-6-appeal-received")
    page.get_by_role("link", name=t("Follow your appeal")).click()
    page.get_by_label(t("Follow-up code")).fill(code.group(0))
    page.get_by_role("button", name=t("Show the appeal")).click()
    expect(page.get_by_role("heading", level=2)).to_contain_text(t("Received"))

    # an official takes it under review and upholds it
    _sign_in(page, live, t, lang, s.regulator, s.alice)
    _nav(page, t, "Appeals")
    card = page.get_by_role("article").filter(has_text=appeal_ref.group(0))
    expect(card).to_contain_text(STATEMENT)
    card.get_by_role("button", name=t("Take under review")).click()
    card = page.get_by_role("article").filter(has_text=appeal_ref.group(0))
    expect(card).to_contain_text(t("Under review"))
    expect(card.get_by_role("button", name=t("Take under review"))).to_have_count(0)
    shoot(page, f"{shot}-7-appeal-queue")
    card.get_by_label(t("Uphold: restore access")).check()
    card.get_by_label(t("Reason for the decision")).fill("A bakery, blocked with the platform.")
    card.get_by_role("button", name=t("Record the decision")).click()
    expect(page.get_by_text(appeal_ref.group(0)).first).to_be_visible()
    card = page.get_by_role("article").filter(has_text=appeal_ref.group(0))
    expect(card).to_contain_text(t("Upheld: access restored"))
    expect(card.get_by_role("button", name=t("Record the decision"))).to_have_count(0)

    # the appellant follows the appeal: decided, with the reasons; the name is open again
    page.context.clear_cookies()
    page.goto(f"{live.url}/public/appeals/{appeal_ref.group(0)}?lang={lang}")
    page.get_by_label(t("Follow-up code")).fill(code.group(0).lower())
    page.get_by_role("button", name=t("Show the appeal")).click()
    expect(page.get_by_role("main")).to_contain_text(t("Upheld: access restored"))
    expect(page.get_by_role("main")).to_contain_text("A bakery, blocked with the platform.")
    shoot(page, f"{shot}-8-appeal-decided")
    page.get_by_role("link", name=t("Check %(name)s now", name=f"web.{s.domain}")).click()
    expect(page.get_by_role("main")).to_contain_text(
        t("%(name)s is not blocked", name=f"web.{s.domain}")
    )
