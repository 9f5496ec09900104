"""The command line as an operator uses it: demo, import, audit verify, sop show."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.support import run_cli


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        "TANGKAL_DATABASE_URL": f"sqlite:///{tmp_path}/cli.db",
        "TANGKAL_DATA_DIR": str(tmp_path),
    }


def test_demo_loads_the_2017_case_and_the_audit_chain_verifies(tmp_path: Path) -> None:
    env = _env(tmp_path)
    r = run_cli("demo", env=env, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "telegram" in r.stdout and "flora-1.web.telegram.org" in r.stdout
    assert "tk_" in r.stdout  # tokens to try the API with
    again = run_cli("demo", env=env, cwd=str(tmp_path))
    assert again.returncode != 0 and "already loaded" in again.stderr
    ok = run_cli("audit", "verify", env=env, cwd=str(tmp_path))
    assert ok.returncode == 0 and "intact" in ok.stdout
    with sqlite3.connect(tmp_path / "cli.db") as conn:
        # the unanswered orders went through the whole escalation, one letter per interval
        steps = conn.execute(
            "SELECT code, due_at FROM escalation_steps ORDER BY order_id, position"
        ).fetchall()
        assert [c for c, _ in steps] == ["ST1", "ST2", "ST3", "BLOCK"] * 2
        # one sanction over the eleven names, approved by two different people
        assert conn.execute("SELECT status FROM sanctions").fetchall() == [("active",)]
        approvers = conn.execute("SELECT approver_key FROM sanction_approvals").fetchall()
        assert len(set(approvers)) == 2
        active = conn.execute(
            "SELECT count(*) FROM block_entries WHERE status = 'active' AND sanction_id IS NOT NULL"
        ).fetchone()[0]
        assert active == 11
        assert conn.execute("SELECT subject_kind, status FROM objections").fetchall() == [
            ("fine", "pending")
        ]
        (conditions,) = conn.execute(
            "SELECT conditions FROM normalisations WHERE status = 'pending'"
        ).fetchone()
        assert len(json.loads(conditions)) == 4
    assert "sop derive indonesia --speed" in r.stdout  # how to watch a drill live


def test_audit_verify_names_the_first_altered_entry(tmp_path: Path) -> None:
    env = _env(tmp_path)
    assert run_cli("demo", env=env, cwd=str(tmp_path)).returncode == 0
    with sqlite3.connect(tmp_path / "cli.db") as conn:
        conn.execute("UPDATE audit_events SET actor = 'someone-else' WHERE seq = 7")
    r = run_cli("audit", "verify", env=env, cwd=str(tmp_path))
    assert r.returncode != 0 and "entry 7" in r.stderr
    with sqlite3.connect(tmp_path / "cli.db") as conn:
        conn.execute("DELETE FROM audit_events WHERE seq = 3")
    r = run_cli("audit", "verify", env=env, cwd=str(tmp_path))
    assert r.returncode != 0 and "entry 3" in r.stderr


def test_token_create_prints_only_the_token(tmp_path: Path) -> None:
    env = _env(tmp_path)
    assert run_cli("org", "create", "--kind", "isp", "--name", "isp-a", env=env).returncode == 0
    r = run_cli("token", "create", "--org", "isp-a", "--role", "isp", env=env)
    assert r.returncode == 0 and r.stdout.count("\n") == 1 and r.stdout.startswith("tk_")
    bad = run_cli("token", "create", "--org", "isp-a", "--role", "moderator", env=env)
    assert bad.returncode != 0 and "cannot hold the role" in bad.stderr
    missing = run_cli("token", "create", "--org", "nobody", "--role", "isp", env=env)
    assert missing.returncode != 0 and "nobody" in missing.stderr
    with sqlite3.connect(tmp_path / "cli.db") as conn:  # stored hashed, never in clear
        stored = [row[0] for row in conn.execute("SELECT token_hash FROM api_tokens")]
    assert stored and all(h.startswith("$argon2") for h in stored)
    assert r.stdout.strip() not in stored


def test_import_orders_reports_bad_rows_and_files_good_ones(tmp_path: Path) -> None:
    env = _env(tmp_path)
    for kind, name in (("regulator", "kominfo"), ("platform", "telegram")):
        assert run_cli("org", "create", "--kind", kind, "--name", name, env=env).returncode == 0
    csv = tmp_path / "orders.csv"
    csv.write_text(
        "platform,category,locators,legal_basis,reason\n"
        "telegram,terrorism,t.me/kanal_a/1 | t.me/kanal_a/2,UU 5/2018,propaganda\n"
        "telegram,terrorism,t.me..,UU 5/2018,bad locator\n"
        "nobody,gambling,judi.example.com,KUHP 303,unknown platform\n"
        "telegram,radicalism,https://t.me/s/kanal_b/5,UU ITE,incitement\n"
        "telegram,,t.me/kanal_c/1,UU ITE,no category\n",
        encoding="utf-8",
    )
    errors = tmp_path / "errors.csv"
    checked = run_cli("import", "orders", str(csv), "--org", "kominfo", "--check", env=env)
    assert checked.returncode != 0 and "nothing was imported" in checked.stderr
    r = run_cli("import", "orders", str(csv), "--org", "kominfo", "--errors", str(errors), env=env)
    assert "imported 2 of 5 rows; 3 rejected" in r.stdout
    for line in ("line 3", "line 4", "line 6"):
        assert line in r.stderr
    assert errors.read_text().count("\n") == 4
    with sqlite3.connect(tmp_path / "cli.db") as conn:
        assert conn.execute("SELECT count(*) FROM orders").fetchone()[0] == 2
        assert conn.execute("SELECT count(*) FROM order_locators").fetchone()[0] == 3


def test_sop_show_validates_profiles(tmp_path: Path) -> None:
    env = _env(tmp_path)
    for name in ("indonesia", "eu-tco", "netzdg"):
        r = run_cli("sop", "show", name, env=env)
        assert r.returncode == 0 and "valid" in r.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\n[deadlines]\nurgent = "4 fortnights"\n')
    r = run_cli("sop", "show", str(bad), env=env)
    assert r.returncode != 0 and "duration" in r.stderr


def test_user_deactivate_and_password_from_the_command_line(tmp_path: Path) -> None:
    env = _env(tmp_path)
    cwd = str(tmp_path)
    assert run_cli("db", "upgrade", env=env, cwd=cwd).returncode == 0
    assert (
        run_cli(
            "org", "create", "--kind", "regulator", "--name", "kominfo", env=env, cwd=cwd
        ).returncode
        == 0
    )
    made = run_cli(
        "user",
        "create",
        "--org",
        "kominfo",
        "--username",
        "sari",
        "--role",
        "analyst",
        "--password-stdin",
        input="rahasia-panjang-1\n",
        env=env,
        cwd=cwd,
    )
    assert made.returncode == 0, made.stderr
    short = run_cli(
        "user",
        "password",
        "--org",
        "kominfo",
        "--username",
        "sari",
        "--password-stdin",
        input="pendek\n",
        env=env,
        cwd=cwd,
    )
    assert short.returncode != 0 and "10 characters" in short.stderr
    new = run_cli(
        "user",
        "password",
        "--org",
        "kominfo",
        "--username",
        "sari",
        "--password-stdin",
        input="rahasia-baru-2026\n",
        env=env,
        cwd=cwd,
    )
    assert new.returncode == 0, new.stderr
    nobody = run_cli(
        "user", "deactivate", "--org", "kominfo", "--username", "budi", env=env, cwd=cwd
    )
    assert nobody.returncode != 0 and "No user 'budi'" in nobody.stderr
    gone = run_cli("user", "deactivate", "--org", "kominfo", "--username", "sari", env=env, cwd=cwd)
    assert gone.returncode == 0, gone.stderr
    with sqlite3.connect(tmp_path / "cli.db") as conn:
        (active,) = conn.execute("SELECT active FROM users WHERE username = 'sari'").fetchone()
        actions = [a for (a,) in conn.execute("SELECT action FROM audit_events ORDER BY seq")]
    assert active == 0
    assert "user.password_changed" in actions and "user.deactivated" in actions
