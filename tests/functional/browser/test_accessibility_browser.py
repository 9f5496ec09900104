"""Every page of the console and the public site, in both languages, checked by axe-core in
real headless Chromium: 0 violations, and everything reachable by keyboard.

The pages are not listed by hand: a crawler signs in as each person of the July 2017 demo
(analyst, two officials, auditor, the platform's moderator, an ISP operator) and follows the
links each of them is shown, so a page added later is checked without anyone remembering to
add it here. One page per shape of address (ids and values stripped) per person and language
keeps the run bounded: the same template with other data has the same structure.

axe-core comes from the npm registry, pinned in ``scripts/test``, which names the file in
``TANGKAL_TEST_AXE_JS``. It is run with ``page.evaluate`` (through the DevTools protocol), so
the pages' own Content-Security-Policy stays as it is in production.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from playwright.sync_api import Error as PlaywrightError

from tests.functional.browser.conftest import shoot
from tests.support import LiveServer, live_server, server_database

pytestmark = pytest.mark.browser

AXE_JS = os.environ.get("TANGKAL_TEST_AXE_JS", "")
#: WCAG 2.0/2.1/2.2 level A and AA, the level public-sector sites in the EU and Indonesia's
#: SPBE guidance point to, and axe's best practices (landmarks, headings, one main).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
LANGUAGES = ("id", "en")
#: Per person and language; the demo's pages number far fewer, so this only stops a loop.
MAX_PAGES = 80
#: Addresses a crawler must not open: they sign out, change state on GET (none should), or
#: answer data rather than a page.
NOT_PAGES = re.compile(
    r"/logout|/static/|/api/|/metrics|/healthz|/readyz|/openapi|\.(csv|json|txt|zone|svg|png)$"
    r"|[?&]format=|/data/|/download"
)
_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\d+")

# Keyboard rules axe does not check: nothing skips ahead of the page's order with a positive
# tabindex, and nothing a person can click is taken out of the tab order.
KEYBOARD_JS = """
() => {
  const problems = [];
  const interactive =
    'a[href], button, input:not([type=hidden]), select, textarea, summary, [onclick]';
  for (const el of document.querySelectorAll('[tabindex]')) {
    if (el.tabIndex > 0) problems.push('positive tabindex: ' + el.outerHTML.slice(0, 120));
  }
  for (const el of document.querySelectorAll(interactive)) {
    const visible = !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
    if (visible && !el.disabled && el.getAttribute('tabindex') === '-1')
      problems.push('clickable but not focusable: ' + el.outerHTML.slice(0, 120));
  }
  return problems;
}
"""


@dataclass(frozen=True)
class Person:
    org: str
    username: str
    password: str
    role: str


def _demo_people(output: str) -> list[Person]:
    people = []
    for m in re.finditer(r"^\s+(\S+)\s+(\S+)\s+(\S+)\s+\((\w+)\)\s*$", output, re.M):
        people.append(Person(*m.groups()))
    return people


@pytest.fixture(scope="module")
def demo() -> Iterator[tuple[LiveServer, list[Person]]]:
    """A server of its own with the demo loaded: the demo refuses a database that has it."""
    with server_database("sqlite") as url, live_server(url) as live:
        loaded = live.cli("demo")
        assert loaded.returncode == 0, loaded.stderr
        people = _demo_people(loaded.stdout)
        assert {p.role for p in people} >= {"analyst", "official", "moderator", "isp", "auditor"}
        yield live, people


def _axe_source() -> str:
    if not AXE_JS or not Path(AXE_JS).is_file():
        pytest.fail(
            "axe-core is missing: TANGKAL_TEST_AXE_JS must name axe.min.js "
            "(scripts/test installs it from the npm registry)"
        )
    return Path(AXE_JS).read_text(encoding="utf-8")


def _shape(url: str) -> str:
    """The address with ids and values stripped: one page of each shape is checked."""
    parts = urlsplit(url)
    keys = sorted({k for k, _ in parse_qsl(parts.query, keep_blank_values=True)} - {"lang"})
    return _ID.sub("#", parts.path) + ("?" + "&".join(keys) if keys else "")


def _links(page: Any, origin: str) -> list[str]:
    hrefs: list[str] = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    out = []
    for href in hrefs:
        href = href.split("#", 1)[0]
        parts = urlsplit(href)
        if (
            href.startswith(origin)
            and not NOT_PAGES.search(parts.path)
            and not NOT_PAGES.search("?" + parts.query)
        ):
            out.append(href)
    return out


def _open(page: Any, url: str, lang: str) -> bool:
    """Open ``url`` once; False when it is not a page (a link to a file: a CSV of a case,
    a zone), which the browser answers with a download or a non-HTML body."""
    sep = "&" if "?" in url else "?"
    try:
        response = page.goto(f"{url}{sep}lang={lang}")
    except PlaywrightError as exc:
        if "Download is starting" in str(exc):
            return False
        raise
    assert response is not None and response.status < 500, f"{url}: {response and response.status}"
    return str(response.headers.get("content-type", "")).startswith("text/html")


def _check(page: Any, axe: str, url: str, lang: str) -> list[str]:
    """The page just opened by :func:`_open`, checked by axe and the keyboard script."""
    assert page.evaluate("() => document.documentElement.lang") == lang, f"{url} not in {lang}"
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(axe + "\n;0")
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})"
        ".then(r => r.violations.map(v => ({id: v.id, help: v.help,"
        " nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))})))",
        AXE_TAGS,
    )
    problems = [f"{url} [{lang}] axe {v['id']}: {v['help']} at {v['nodes']}" for v in result]
    problems += [f"{url} [{lang}] keyboard: {p}" for p in page.evaluate(KEYBOARD_JS)]
    return problems


def _crawl(page: Any, live: LiveServer, axe: str, start: str, lang: str, who: str) -> list[str]:
    seen: set[str] = set()
    queue = [f"{live.url}{start}"]
    problems: list[str] = []
    checked = 0
    while queue and checked < MAX_PAGES:
        url = queue.pop(0)
        shape = _shape(url)
        if shape in seen:
            continue
        seen.add(shape)
        if not _open(page, url, lang):
            continue
        problems += _check(page, axe, url, lang)
        checked += 1
        if checked <= 3:  # a few for people to look at; every page would cost a minute
            shoot(page, f"a11y-{who}-{lang}-{checked:02d}")
        queue += _links(page, live.url)
    assert checked >= 3, f"the crawl as {who} found only {checked} pages from {start}"
    return problems


def _sign_in(page: Any, live: LiveServer, person: Person) -> None:
    page.context.clear_cookies()
    page.goto(f"{live.url}/login?lang=en")
    page.get_by_label("Organisation").fill(person.org)
    page.get_by_label("User name").fill(person.username)
    page.get_by_label("Password").fill(person.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/console"))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_public_page_has_no_accessibility_violations(
    page: Any, demo: tuple[LiveServer, list[Person]], lang: str
) -> None:
    live, _ = demo
    axe = _axe_source()
    problems = _crawl(page, live, axe, "/public/lookup?q=web.telegram.org", lang, "public")
    for start in (
        "/login",
        "/public/appeal?domain=web.telegram.org",
        "/public/normalisation",
        "/public/normalisation/follow",
    ):
        assert _open(page, f"{live.url}{start}", lang), start
        problems += _check(page, axe, f"{live.url}{start}", lang)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("role", ["analyst", "official", "auditor", "moderator", "isp"])
def test_every_console_page_has_no_accessibility_violations(
    page: Any, demo: tuple[LiveServer, list[Person]], lang: str, role: str
) -> None:
    live, people = demo
    axe = _axe_source()
    person = next(p for p in people if p.role == role)
    _sign_in(page, live, person)
    problems = _crawl(page, live, axe, "/console", lang, role)
    assert not problems, "\n".join(problems)


def test_the_console_can_be_worked_by_keyboard_alone(
    page: Any, demo: tuple[LiveServer, list[Person]]
) -> None:
    """Tab from the top of the analyst's order form reaches every field and the button, in
    order, with a focus ring a sighted keyboard user can see."""
    live, people = demo
    analyst = next(p for p in people if p.role == "analyst")
    _sign_in(page, live, analyst)
    page.goto(f"{live.url}/console/orders/new?lang=id")
    focusable = page.evaluate(
        "() => [...document.querySelectorAll('main a[href], main button,"
        " main input:not([type=hidden]), main select, main textarea')]"
        ".filter(e => e.getClientRects().length && !e.disabled).length"
    )
    assert focusable >= 5
    reached: list[dict[str, Any]] = []
    for _ in range(focusable + 40):  # the header's links come first; bounded either way
        page.keyboard.press("Tab")
        info = page.evaluate(
            "() => { const e = document.activeElement; const s = getComputedStyle(e);"
            " return {inMain: !!e.closest('main'), tag: e.tagName,"
            " ring: s.outlineStyle !== 'none' || s.boxShadow !== 'none'}; }"
        )
        if info["tag"] == "BODY":
            break
        if info["inMain"]:
            reached.append(info)
    assert len(reached) >= focusable, f"Tab reached {len(reached)} of {focusable} controls"
    assert all(i["ring"] for i in reached), "a focused control shows no focus ring"
