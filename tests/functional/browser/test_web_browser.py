"""The console and the public pages in real headless Chromium: what a person clicks."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.functional.browser.conftest import shoot
from tests.functional.browser.people import PASSWORD, Cast, cast, fresh_cast
from tests.support import LiveServer, unique

pytestmark = pytest.mark.browser


def _sign_in(page: Any, live: LiveServer, org: str, user: str) -> None:
    page.goto(f"{live.url}/login?lang=en")
    page.get_by_label("Organisation").fill(org)
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/console/"))


def _file_order(page: Any, live: LiveServer, people: Cast, channel: str) -> str:
    _sign_in(page, live, people.regulator, people.analyst)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="New order").click()
    page.get_by_label("Platform", exact=True).select_option(people.platform)
    page.get_by_label("Category", exact=True).select_option("terrorism")
    # the category fills in its legal basis from the SOP
    assert "UU 5/2018" in page.get_by_label("Legal basis", exact=True).input_value()
    page.get_by_label(re.compile("Content to take down")).fill(
        f"https://t.me/{channel}/7\nnot a domain"
    )
    page.get_by_label(re.compile(r"^Reason")).fill("Instructions for making explosives.")
    page.get_by_role("button", name="File order").click()
    # the bad line is shown next to the field; fix it and file again
    expect(page.locator(".line-errors li")).to_have_count(1)
    expect(page.locator(".line-errors")).to_contain_text("line 2")
    shoot(page, "order-form-errors")
    page.get_by_label(re.compile("Content to take down")).fill(
        f"https://t.me/{channel}/7\nhttps://t.me/{channel}/8"
    )
    page.get_by_role("button", name="File order").click()
    page.wait_for_url(re.compile(r"/console/orders/[0-9a-f-]{36}$"))
    expect(page.locator(".flash")).to_contain_text("was filed")
    reference = page.locator("h1 .mono").inner_text()
    shoot(page, "order-detail-regulator")
    return reference


def test_analyst_files_an_order_and_sees_it_on_the_dashboard(page: Any, live: LiveServer) -> None:
    people = cast(live)
    channel = unique("bomb_howto").replace("-", "_")
    reference = _file_order(page, live, people, channel)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Orders").click()
    row = page.locator("table.orders tbody tr", has_text=reference)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(re.compile(r"\d+ h \d+ min left"))
    shoot(page, "dashboard")


def test_moderator_acknowledges_and_responds(page: Any, live: LiveServer) -> None:
    people = cast(live)
    channel = unique("attack_plans").replace("-", "_")
    reference = _file_order(page, live, people, channel)
    page.context.clear_cookies()
    _sign_in(page, live, people.platform, people.moderator)
    expect(page.locator("h1")).to_contain_text("Inbox")
    page.get_by_role("link", name=reference).click()
    shoot(page, "order-detail-platform")
    page.get_by_role("button", name="Acknowledge receipt").click()
    expect(page.locator(".flash")).to_contain_text("Receipt acknowledged")
    expect(page.locator("h1 .badge")).to_contain_text("Acknowledged")
    page.get_by_label("Content removed").check()
    page.get_by_label("Facts and circumstances of the decision").fill(
        "Both posts removed within the hour; the channel was banned."
    )
    page.get_by_role("button", name="Send response").click()
    expect(page.locator(".flash")).to_contain_text("statement of reasons were recorded")
    expect(page.locator("h1 .badge")).to_contain_text("Complied")
    expect(page.locator("#rs-title + article")).to_contain_text("the channel was banned")
    shoot(page, "order-responded")


def test_public_lookup_in_both_languages(page: Any, live: LiveServer) -> None:
    people = cast(live)
    name = f"{unique('radikal')}.example.net"
    with live.client(live.token(people.regulator, "official")) as api:
        r = api.post(
            "/api/v1/blocks",
            json={
                "domain": name,
                "action": "nxdomain",
                "category": "radicalism",
                "legal_basis": "UU 1/2024 (ITE) Pasal 40",
                "reason": "Incitement",
            },
        )
        assert r.status_code == 201, r.text
    page.goto(f"{live.url}/public/lookup")
    assert page.locator("html").get_attribute("lang") == "id"
    page.get_by_label("Nama domain").fill(f"www.{name}")
    page.get_by_role("button", name="Periksa").click()
    result = page.locator(".result")
    expect(result).to_contain_text(f"www.{name} diblokir")
    expect(result).to_contain_text("UU 1/2024 (ITE) Pasal 40")
    expect(result).to_contain_text("Radikalisme")
    shoot(page, "lookup-id")
    page.get_by_role("link", name="EN").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(".result")).to_contain_text(f"www.{name} is blocked")
    expect(page.locator(".result")).to_contain_text("Appeal this block")
    page.get_by_label("Domain name").fill("co.id")
    page.get_by_role("button", name="Check").click()
    expect(page.locator(".alert")).to_contain_text("That is not a domain name we can look up.")
    shoot(page, "lookup-en-error")
    page.goto(f"{live.url}/public/transparency")
    expect(page.locator("h1")).to_contain_text("Transparency report")  # remembered: English
    shoot(page, "transparency-en")


def test_official_creates_a_block_seeing_the_assessment_then_restores_it(
    page: Any, live: LiveServer
) -> None:
    people = fresh_cast(live)
    platform = unique("layanan")
    domain = f"{platform}.example.org"
    assert (
        live.cli(
            "org", "create", "--kind", "platform", "--name", platform, "--domain", domain
        ).returncode
        == 0
    )
    _sign_in(page, live, people.regulator, people.official)
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Blocks").click()
    page.get_by_role("link", name="New block").click()
    # typing a platform's own domain shows the whole-service warning as the official types
    page.get_by_label("Domain name").fill(f"web.{domain}")
    panel = page.locator("#assessment")
    panel.locator(".assess-head").wait_for()
    expect(panel).to_contain_text("Whole-service block")
    expect(panel).to_contain_text("needs a second official")
    # a name of its own: one official may decide
    name = f"{unique('propaganda')}.example.net"
    page.get_by_label("Domain name").fill(name)
    page.wait_for_function(
        "n => document.querySelector('#assessment .big-name')?.textContent === n", arg=name
    )
    expect(panel).to_contain_text("one official may decide")
    shoot(page, "block-new-assessment")
    page.get_by_label("Category").select_option("terrorism")
    assert "UU 5/2018" in page.get_by_label("Legal basis", exact=True).input_value()
    page.get_by_label("Reason", exact=True).fill("Bomb-making manuals in public channels.")
    page.get_by_role("button", name="Create block").click()
    page.wait_for_url(re.compile(r"/console/blocks/[0-9a-f-]{36}$"))
    expect(page.locator(".flash")).to_contain_text("the RPZ was updated")
    expect(page.locator("h1 .badge")).to_contain_text("Active")
    shoot(page, "block-detail-active")
    page.get_by_label("Reason for restoring access").fill(
        "The platform removed the channels and opened a direct line."
    )
    page.get_by_role("button", name="Restore access (normalisasi)").click()
    expect(page.locator(".flash")).to_contain_text("is restored")
    expect(page.locator("h1 .badge")).to_contain_text("Restored")
    expect(page.locator("#hist-title + p + table")).to_contain_text("opened a direct line")
    shoot(page, "block-detail-restored")


def test_moderator_uploads_a_photo_and_sees_the_match_in_the_analysts_bank(
    page: Any, live: LiveServer, tmp_path: Path
) -> None:
    from PIL import Image
    from skimage import data as samples

    people = fresh_cast(live)
    original, copy = tmp_path / "astronaut.png", tmp_path / "forwarded.jpg"
    Image.fromarray(samples.astronaut()).save(original, "PNG")
    Image.open(original).convert("RGB").resize((300, 300)).save(copy, "JPEG", quality=60)
    bank = unique("tat-propaganda")
    _sign_in(page, live, people.regulator, people.analyst)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Hash banks").click()
    page.locator("summary", has_text="Create a bank").click()
    page.get_by_label("Name", exact=True).fill(bank)
    page.get_by_label("Source (provenance)").fill("Tech Against Terrorism")
    page.get_by_role("button", name="Create bank").click()
    page.wait_for_url(re.compile(f"/console/banks/{bank}$"))
    page.get_by_label("File", exact=True).set_input_files(str(original))
    page.get_by_role("button", name="Hash and add").click()
    expect(page.locator("#added")).to_contain_text("Hashed astronaut.png")
    shoot(page, "bank-after-upload")
    page.context.clear_cookies()
    _sign_in(page, live, people.platform, people.moderator)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Match a file").click()
    page.get_by_label("File", exact=True).set_input_files(str(copy))
    page.get_by_role("button", name="Match", exact=True).click()
    card = page.locator("article.match", has_text=bank)
    expect(card).to_have_count(1)
    expect(card.locator(".near-label")).to_have_text(re.compile("^(very close|similar)$"))
    expect(card).to_contain_text("Tech Against Terrorism")
    shoot(page, "match-result")
    card.get_by_role("button", name="Confirmed copy").click()
    expect(card.locator(".feedback.done")).to_contain_text("You confirmed this match")
