"""Issue 12, finding 8: passwords stay out of argv; the console's second factor (real HTTP).

Before the fix ``tangkal user create --password SECRET`` took the password as an argument
(visible in ``ps`` and kept in the shell history), and the console had no second factor.
"""

from __future__ import annotations

import pyotp

from tests.functional.browser.people import browser_client, csrf
from tests.support import LiveServer, unique

PASSWORD = "kata-sandi-yang-panjang-2026"


def _sign_in(
    live: LiveServer, org: str, user: str, code: str = "", password: str = PASSWORD
) -> tuple[int, str]:
    with browser_client(live) as web:
        token = csrf(web.get("/login", params={"lang": "en"}).text)
        r = web.post(
            "/login",
            params={"lang": "en"},
            data={
                "org": org,
                "username": user,
                "password": password,
                "code": code,
                "csrf_token": token,
                "next": "/console",
            },
        )
        return r.status_code, r.text


def test_a_password_is_never_an_argument(live: LiveServer) -> None:
    org, user = unique("kominfo"), unique("pejabat")
    assert live.cli("org", "create", "--kind", "regulator", "--name", org).returncode == 0
    base = ("user", "create", "--org", org, "--username", user, "--role", "official")
    refused = live.cli(*base, "--password", PASSWORD)
    assert refused.returncode != 0
    assert "--password-stdin" in refused.stderr and "ps" in refused.stderr
    assert _sign_in(live, org, user)[0] == 401  # nothing was made
    made = live.cli_process(*base, "--password-stdin", input=PASSWORD + "\n")  # a real process
    assert made.returncode == 0, made.stderr
    assert all(PASSWORD not in arg for arg in made.args)
    assert _sign_in(live, org, user)[0] == 303
    # the prompt: typed twice, a mismatch refused
    again = ("user", "password", "--org", org, "--username", user)
    assert live.cli(*again, input="one-long-password\nanother-password\n").returncode != 0
    assert live.cli(*again, input="a-new-long-password\na-new-long-password\n").returncode == 0
    assert _sign_in(live, org, user, password="a-new-long-password")[0] == 303


def test_an_enrolled_person_signs_in_with_a_code_or_a_recovery_code_once(
    live: LiveServer,
) -> None:
    org, user = unique("kominfo"), unique("pejabat")
    assert live.cli("org", "create", "--kind", "regulator", "--name", org).returncode == 0
    live.user(org, user, "official", PASSWORD)
    enrolled = live.cli("user", "totp", "enrol", user, "--org", org)
    assert enrolled.returncode == 0, enrolled.stderr
    lines = enrolled.stdout.splitlines()
    totp = pyotp.parse_uri(lines[0])
    assert isinstance(totp, pyotp.TOTP) and lines[0].startswith("otpauth://totp/")
    codes = [line.strip() for line in lines[2:]]
    assert len(codes) == 10 and len(set(codes)) == 10

    status, page = _sign_in(live, org, user)  # the password alone is not enough now
    assert status == 401 and "authentication code" in page
    wrong = "000000" if totp.now() != "000000" else "111111"
    assert _sign_in(live, org, user, wrong)[0] == 401
    right = totp.now()
    assert _sign_in(live, org, user, right)[0] == 303
    assert _sign_in(live, org, user, right)[0] == 401  # a code is used once
    assert _sign_in(live, org, user, codes[0].upper())[0] == 303
    assert _sign_in(live, org, user, codes[0])[0] == 401  # and so is a recovery code
    status, page = _sign_in(live, org, user, codes[1], password="not-the-password")
    assert status == 401 and "Wrong organisation, user name or password" in page
    assert _sign_in(live, org, user, codes[1])[0] == 303  # a wrong password used no code
