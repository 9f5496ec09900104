"""Reading console pages in process for the tests that count database statements: a
person signed in through the login form, and a counter of the statements a page sends."""

from __future__ import annotations

import re
import warnings
from typing import Any

from sqlalchemy import event

from tangkal.db.session import Database

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Counter:
    """Statements sent to the database while ``counting`` is on (SQLAlchemy's
    ``before_cursor_execute`` on the app's own engine)."""

    def __init__(self, db: Database) -> None:
        self.n = 0
        self.on = False
        event.listen(db.engine, "before_cursor_execute", self._seen)

    def _seen(self, *_: Any) -> None:
        if self.on:
            self.n += 1

    def get(self, client: TestClient, url: str) -> tuple[int, str]:
        """The statements of one GET of ``url`` (which must answer 200), and its page."""
        self.n, self.on = 0, True
        try:
            r = client.get(url)
        finally:
            self.on = False
        assert r.status_code == 200, r.text[r.text.find("<main") :][:1500]
        return self.n, r.text


def sign_in(client: TestClient, org: str, user: str, password: str) -> None:
    """Sign ``user`` of ``org`` in through the login form, as a person does."""
    client.cookies.clear()
    token = _CSRF.search(client.get("/login").text)
    assert token
    r = client.post(
        "/login",
        data={"org": org, "username": user, "password": password, "csrf_token": token.group(1),
              "next": "/console"},
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303, r.text[:500]
