"""The command line and its settings: ``serve`` refuses an unknown or invalid ``TANGKAL_*``
variable, and ``token create --user`` gives tokens to a named person."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from tangkal.accounts.passwords import token_prefix
from tangkal.settings import unknown_variables
from tests.support import run_cli

QUICK = 30  # seconds; a refusal comes before the server binds anything


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "TANGKAL_DATABASE_URL": f"sqlite:///{tmp_path}/cli.db",
        "TANGKAL_DATA_DIR": str(tmp_path),
        **extra,
    }


def _said(stderr: str) -> str:
    """stderr as one line: the console wraps long messages."""
    return " ".join(stderr.split())


def _serve(env: dict[str, str], tmp_path: Path) -> tuple[int, str]:
    r = run_cli(
        "serve", "--port", "0", "--dns-port", "0", env=env, cwd=str(tmp_path), timeout=QUICK
    )
    return r.returncode, _said(r.stderr)


def test_serve_refuses_a_misspelt_variable_and_names_the_right_one(tmp_path: Path) -> None:
    code, said = _serve(_env(tmp_path, TANGKAL_DATABSE_URL="postgresql://db/x"), tmp_path)
    assert code != 0
    assert "TANGKAL_DATABSE_URL is not a tangkal setting" in said
    assert "did you mean TANGKAL_DATABASE_URL?" in said
    assert "Traceback" not in said
    assert not (tmp_path / "cli.db").exists()  # refused before opening the database


def test_serve_refuses_an_invalid_value_naming_variable_value_and_reason(tmp_path: Path) -> None:
    code, said = _serve(_env(tmp_path, TANGKAL_SCHEDULER_INTERVAL="abc"), tmp_path)
    assert code != 0
    assert "TANGKAL_SCHEDULER_INTERVAL='abc' is not valid" in said
    assert "valid number" in said  # pydantic's reason
    assert "Traceback" not in said


def test_serve_refuses_a_bad_sop_profile_naming_file_key_and_reason(tmp_path: Path) -> None:
    good = run_cli(
        "sop",
        "derive",
        "indonesia",
        "--speed",
        "60",
        env=_env(tmp_path),
        cwd=str(tmp_path),
        timeout=QUICK,
    )
    assert good.returncode == 0, good.stderr
    bad = tmp_path / "drill.toml"
    bad.write_text(
        good.stdout.replace('kind = "sanction_proposal"', 'kind = "sanction_propsal"'),
        encoding="utf-8",
    )
    code, said = _serve(_env(tmp_path, TANGKAL_SOP_PROFILE=str(bad)), tmp_path)
    assert code != 0 and "Traceback" not in said
    assert str(bad) in said and "escalation.steps.3.kind" in said
    assert "did you mean 'sanction_proposal'" in said and ", line " in said


def test_names_of_the_tests_scripts_and_workers_are_not_unknown() -> None:
    environ = {
        "TANGKAL_TEST_PG": "x",
        "TANGKAL_TEST_BACKENDS": "sqlite",
        "TANGKAL_TEST_SOP": "netzdg",
        "TANGKAL_TEST_ANYTHING_NEW": "1",
        "TANGKAL_REQUIRE_PG": "1",
        "TANGKAL_SERVE_PRIMARY_LOCK": "/tmp/x",
        "TANGKAL_DATABASE_URL": "sqlite://",
        "tangkal_log_level": "debug",  # pydantic-settings reads names in any case
        "PATH": "/bin",
        "TANGKAL_DATABSE_URL": "oops",
    }
    assert unknown_variables(environ) == ["TANGKAL_DATABSE_URL"]


def _query(tmp_path: Path, sql: str) -> list[tuple[Any, ...]]:
    engine = create_engine(f"sqlite:///{tmp_path}/cli.db")
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql))]
    finally:
        engine.dispose()


def _regulator(env: dict[str, str]) -> None:
    r = run_cli("org", "create", "--kind", "regulator", "--name", "kominfo", env=env)
    assert r.returncode == 0, r.stderr


def test_token_create_for_a_named_person_twice_is_one_person(tmp_path: Path) -> None:
    env = _env(tmp_path)
    _regulator(env)
    made = [
        run_cli("token", "create", "--org", "kominfo", "--role", "official", *user, env=env)
        for user in (("--user", "alice"), ("--user", "alice"), ())
    ]
    for r in made:
        assert r.returncode == 0, r.stderr
        assert r.stdout.count("\n") == 1 and r.stdout.startswith("tk_")  # only the token
    first, second, anonymous = (token_prefix(r.stdout.strip()) for r in made)
    assert first != second
    owner = dict(_query(tmp_path, "SELECT prefix, user_id FROM api_tokens"))
    assert owner[first] is not None and owner[first] == owner[second]
    assert owner[anonymous] is None
    people = _query(tmp_path, "SELECT id, username, role, password_hash FROM users")
    # One person, made by the first call with the token's role and no console password.
    assert people == [(owner[first], "alice", "official", None)]


def test_token_create_refuses_a_role_the_person_does_not_have(tmp_path: Path) -> None:
    env = _env(tmp_path)
    org = ("--org", "kominfo")
    _regulator(env)
    ok = run_cli("token", "create", *org, "--role", "official", "--user", "alice", env=env)
    assert ok.returncode == 0, ok.stderr
    bad = run_cli("token", "create", *org, "--role", "admin", "--user", "alice", env=env)
    assert bad.returncode != 0 and bad.stdout == ""
    said = _said(bad.stderr)
    assert "alice in kominfo has the role official, not admin" in said
    assert "Traceback" not in said
    assert _query(tmp_path, "SELECT count(*) FROM api_tokens") == [(1,)]
