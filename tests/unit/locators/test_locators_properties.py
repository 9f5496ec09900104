"""Property tests: canonicalisation is idempotent and junk-insensitive."""

from __future__ import annotations

import hypothesis
import hypothesis.strategies as st

from tangkal.errors import InvalidLocator
from tangkal.locators import parse_locator

_usernames = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{3,31}", fullmatch=True)
_posts = st.integers(min_value=1, max_value=2**31 - 1)
_labels = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
_tlds = st.sampled_from(["com", "id", "co.id", "de", "org", "xn--p1ai", "github.io"])
_path_chars = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=30
)
_left_junk = st.sampled_from(["", " ", "\u200b", "(", "<", '"', "“", "\ufeff"])
_right_junk = st.sampled_from(["", " ", "\u200b", ".", ",", ")", ">", '"', "”", "\n"])


@st.composite
def telegram_links(draw: st.DrawFn) -> str:
    name = draw(_usernames)
    post = draw(_posts)
    template = draw(
        st.sampled_from(
            [
                "t.me/{n}/{p}",
                "https://T.ME/{n}/{p}?single",
                "t.me/s/{n}/{p}/",
                "telegram.me/{n}/{p}",
                "tg://resolve?domain={n}&post={p}",
                "{n}.t.me/{p}",
                "t.me/{n}",
                "@{n}",
            ]
        )
    )
    return template.format(n=name, p=post)


@st.composite
def urls(draw: st.DrawFn) -> str:
    host = ".".join(draw(st.lists(_labels, min_size=1, max_size=3))) + "." + draw(_tlds)
    scheme = draw(st.sampled_from(["http", "https", "HTTPS"]))
    path = draw(_path_chars).replace("\\", "/").replace("#", "")
    return f"{scheme}://{host}/{path}"


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(telegram_links() | urls())
def test_parsing_the_clickable_or_display_form_gives_the_same_key(text: str) -> None:
    try:
        loc = parse_locator(text)
    except InvalidLocator:
        hypothesis.assume(False)
        return
    assert parse_locator(loc.url or loc.display).canonical == loc.canonical
    assert parse_locator(loc.display).canonical == loc.canonical
    assert parse_locator(loc.canonical) == loc


@hypothesis.settings(max_examples=200, deadline=None)
@hypothesis.given(telegram_links(), _left_junk, _right_junk)
def test_copy_paste_wrapping_never_changes_a_telegram_key(text: str, left: str, right: str) -> None:
    assert parse_locator(f"{left}{text}{right}").canonical == parse_locator(text).canonical
