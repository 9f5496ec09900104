"""The production example in ``deploy/`` is checked by the tools that will read it: systemd,
tangkal's own settings and BIND; so the example cannot drift from what the code accepts."""

from __future__ import annotations

import configparser
import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tangkal.settings import PREFIX, Settings, setting_names

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _env_example() -> dict[str, str]:
    values = {}
    for line in (DEPLOY / "tangkal.env.example").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name] = value
    return values


def test_every_line_of_the_settings_example_is_a_setting_with_a_usable_value() -> None:
    values = _env_example()
    assert "TANGKAL_DATABASE_URL" in values and values["TANGKAL_DATABASE_URL"].startswith(
        "postgresql://"
    )
    assert set(values) <= set(setting_names()), set(values) - set(setting_names())
    # the same parsing as `tangkal serve`: a bad value raises here
    settings = Settings(**{k.removeprefix(PREFIX).lower(): v for k, v in values.items()})
    assert settings.log_format == "json"


def _unit() -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(DEPLOY / "tangkal.service")
    return unit


def test_the_unit_runs_commands_and_options_tangkal_has() -> None:
    service = _unit()["Service"]
    start = shlex.split(service["ExecStart"])
    assert start[1] == "serve" and "--workers" in start
    assert start[start.index("--workers") + 1] == "2"
    help_text = subprocess.run(
        [shutil.which("tangkal") or "tangkal", "serve", "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "200"},  # rich wraps the option names otherwise
    ).stdout
    for option in (a for a in start if a.startswith("--")):
        assert option in help_text, f"tangkal serve has no {option}"
    assert shlex.split(service["ExecStartPre"])[1:] == ["db", "upgrade"]


def test_the_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.fail("systemd-analyze is missing: scripts/install-system-deps installs systemd")
    tangkal = shutil.which("tangkal")
    assert tangkal, "tangkal is not on PATH (pip install -e .)"
    unit = tmp_path / "tangkal.service"
    unit.write_text(
        (DEPLOY / "tangkal.service").read_text().replace("/opt/tangkal/venv/bin/tangkal", tangkal)
    )
    done = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


@pytest.mark.parametrize("conf", ["named.conf", "resolver-snippet.conf"])
def test_the_bind_examples_pass_named_checkconf(conf: str) -> None:
    checkconf = shutil.which("named-checkconf")
    if checkconf is None:
        pytest.fail("named-checkconf is missing: scripts/install-system-deps installs bind9")
    done = subprocess.run(
        [checkconf, str(DEPLOY / "bind-secondary" / conf)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
