"""``tangkal block ...`` as an operator runs it, against the live server's database."""

from __future__ import annotations

import httpx

from tests.support import LiveServer, unique


def test_import_reports_every_bad_line_and_writes_nothing_then_imports_all(
    live: LiveServer,
) -> None:
    base = unique("imp")
    good = [f"n{i}.{base}.example.com" for i in range(50)]
    path = live.workdir / f"{base}.txt"
    path.write_text(
        "\n".join(["# TRUST+ extract", *good[:25], "co.id", *good[25:], good[0].upper()]) + "\n"
    )
    r = live.cli(
        "block",
        "import",
        str(path),
        "--legal-basis",
        "Permenkominfo 5/2020",
        "--reason",
        "gambling",
        "--by-official",
    )
    assert r.returncode == 2
    err = " ".join(r.stderr.split())  # rich may wrap long lines
    assert ":27:" in err and "public suffix" in err
    assert ":53:" in err and "line 2" in err
    assert "nothing was imported" in err
    lookup = httpx.get(live.url + "/api/v1/public/lookup", params={"domain": good[0]}).json()
    assert lookup["blocked"] is False

    path.write_text("\n".join(good) + "\n")
    r = live.cli(
        "block",
        "import",
        str(path),
        "--legal-basis",
        "Permenkominfo 5/2020",
        "--reason",
        "gambling",
        "--by-official",
    )
    assert r.returncode == 0, r.stderr
    assert "imported 50 name(s): 50 active" in r.stdout
    lookup = httpx.get(
        live.url + "/api/v1/public/lookup", params={"domain": "www." + good[49]}
    ).json()
    assert lookup["blocked"] is True

    r = live.cli("block", "restore", good[3], "--reason", "wrongly listed")
    assert r.returncode == 0, r.stderr
    r = live.cli("block", "restore", good[3], "--reason", "again")
    assert r.returncode == 2 and "not blocked" in " ".join(r.stderr.split())
    r = live.cli("block", "list", "--domain", good[3])
    assert r.returncode == 0 and "\trestored\t" in r.stdout


def test_import_reads_a_list_from_a_pipe_which_can_be_read_only_once(live: LiveServer) -> None:
    base = unique("pipa")
    names = [f"n{i}.{base}.example.com" for i in range(30)]
    r = live.cli_process(
        "block",
        "import",
        "/dev/stdin",
        "--legal-basis",
        "Permenkominfo 5/2020",
        "--reason",
        "gambling",
        "--by-official",
        input="\n".join(names) + "\n",
    )
    assert r.returncode == 0, r.stderr
    assert "imported 30 name(s): 30 active" in r.stdout
    lookup = httpx.get(live.url + "/api/v1/public/lookup", params={"domain": names[29]}).json()
    assert lookup["blocked"] is True


def test_cli_approval_and_the_two_person_rule(live: LiveServer) -> None:
    name = f"{unique('judi')}.com"
    r = live.cli(
        "block",
        "add",
        name,
        "--action",
        "nxdomain",
        "--legal-basis",
        "KUHP 303",
        "--reason",
        "online gambling",
    )
    assert r.returncode == 0 and "pending_approval" in r.stdout, r.stderr
    block_id = r.stdout.split()[0]
    ok = live.cli("block", "approve", block_id)
    assert ok.returncode == 0 and "active" in ok.stdout, ok.stderr
    again = live.cli("block", "approve", block_id)
    assert again.returncode != 0 and "only entries pending approval" in again.stderr
    # a whole-service block needs two different officials: one operator cannot be both
    platform = unique("platform")
    domain = f"{unique('svc')}.com"
    assert (
        live.cli(
            "org", "create", "--kind", "platform", "--name", platform, "--domain", domain
        ).returncode
        == 0
    )
    r = live.cli(
        "block",
        "add",
        domain,
        "--action",
        "nxdomain",
        "--legal-basis",
        "UU ITE",
        "--reason",
        "whole service",
        "--by-official",
    )
    assert r.returncode == 0 and "pending_approval" in r.stdout, r.stderr
    second = live.cli("block", "approve", r.stdout.split()[0])
    assert second.returncode != 0 and "second" in second.stderr.lower()
