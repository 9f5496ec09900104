"""Signed session cookies, the signing key's origin, and the CSRF check."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import pytest

from tangkal.errors import ConfigurationError, Forbidden
from tangkal.settings import Settings
from tangkal.web import sessions
from tangkal.web.sessions import MAX_AGE, WebSession, check_csrf, decode, encode

KEY = b"k" * 32


def test_a_session_survives_the_round_trip() -> None:
    s = WebSession.anonymous().signed_in("user-1", "org-1").with_flash("done")
    back = decode(encode(s, KEY), KEY)
    assert back == s


def test_an_altered_or_foreign_cookie_is_ignored() -> None:
    value = encode(WebSession.anonymous().signed_in("user-1", "org-1"), KEY)
    _, _, mac = value.rpartition(".")
    forged = encode(WebSession.anonymous().signed_in("admin", "org-1"), KEY).split(".")[0]
    assert decode(f"{forged}.{mac}", KEY) is None
    assert decode(value, b"x" * 32) is None
    assert decode(value[:-2] + "AA", KEY) is None
    assert decode("garbage", KEY) is None
    assert decode(None, KEY) is None


def test_an_old_session_expires() -> None:
    value = encode(WebSession.anonymous(), KEY)
    assert decode(value, KEY, now=time.time() + MAX_AGE + 5) is None


def test_signing_in_rotates_the_csrf_token() -> None:
    before = WebSession.anonymous()
    assert before.signed_in("u", "o").csrf != before.csrf


def test_csrf_needs_the_token_of_the_callers_own_session() -> None:
    s = WebSession.anonymous()
    check_csrf(s, s.csrf)
    for bad in (None, "", "x" + s.csrf):
        with pytest.raises(Forbidden):
            check_csrf(s, bad)
    with pytest.raises(Forbidden):
        check_csrf(None, s.csrf)


def test_key_is_generated_once_per_data_dir_with_owner_only_mode(tmp_path: Path) -> None:
    sessions._keys.clear()
    settings = Settings(data_dir=tmp_path, secret_key=None)
    first = sessions.secret_key(settings)
    path = tmp_path / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    sessions._keys.clear()  # a new process reads the same file
    assert sessions.secret_key(settings) == first
    assert len(first) == 32


def test_configured_key_wins_and_a_short_one_is_refused(tmp_path: Path) -> None:
    key = sessions.secret_key(Settings(data_dir=tmp_path, secret_key="s" * 40))
    assert not (tmp_path / "secret_key").exists()
    assert len(key) == 32
    with pytest.raises(ConfigurationError):
        sessions.secret_key(Settings(data_dir=tmp_path, secret_key="short"))
