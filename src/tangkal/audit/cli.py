"""``tangkal audit``: check the chain, sign checkpoints, make and check Merkle proofs.

``verify`` and ``checkpoint`` need the database; ``prove`` reads it; ``check-proof`` needs
nothing but files, so a reader who holds checkpoints can check a proof fetched from the
public endpoint on a machine that has never seen the database.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from tangkal.cli.common import database, err, fail, friendly, unit_of_work
from tangkal.settings import check_environment

app = typer.Typer(help="The tamper-evident audit chain.", no_args_is_help=True)

_PUBLIC_KEY_HELP = (
    "The signing key's public key (base64, as the checkpoint shows it) that you pinned: "
    "refuse a checkpoint signed by any other."
)


def _checkpoint(path: Path) -> dict[str, Any]:
    from tangkal.audit import checkpoints

    try:
        return checkpoints.parse(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        fail(f"cannot use the checkpoint {path}: {exc}")
        raise  # not reached: fail exits


@app.command("verify")
@friendly
def verify(
    checkpoint: Path | None = typer.Option(
        None,
        "--checkpoint",
        help="A checkpoint kept elsewhere (tangkal audit checkpoint, or the public endpoint): "
        "also refuse a chain truncated or rewritten since it was signed (for a v2 checkpoint, "
        "also a chain whose Merkle root at its size is not the signed one).",
    ),
    public_key: str | None = typer.Option(None, "--public-key", help=_PUBLIC_KEY_HELP),
) -> None:
    """Exit 0 when the audit chain is intact; otherwise name the first bad entry."""
    from tangkal.audit import checkpoints
    from tangkal.audit.services import verify

    held = None if checkpoint is None else _checkpoint(checkpoint)
    with database().read_only() as session:
        result = verify(session)
        against = (
            None
            if held is None or not result.ok
            else checkpoints.check(session, held, trusted_public_key=public_key)
        )
    if not result.ok:
        err.print(
            f"[bold red]audit chain broken[/] at entry {result.first_bad_seq}: {result.problem} "
            f"({result.checked} entries verified before it)",
            highlight=False,
        )
        raise typer.Exit(1)
    if against is not None and not against.ok:
        err.print(
            f"[bold red]audit chain does not match the checkpoint[/]: {against.problem}",
            highlight=False,
        )
        raise typer.Exit(1)
    tail = ""
    if held is not None:
        tail = f"; extends the checkpoint of size {held['size']}"
        if held.get("root") is not None:
            tail += " and has its Merkle root"
    typer.echo(f"audit chain intact: {result.checked} entries, head {result.head_hash}{tail}")


def _write(text: str, output: Path | None, what: str) -> None:
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        err.print(f"{what} written to {output}", highlight=False)


@app.command("checkpoint")
@friendly
def checkpoint(
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write it to this file (default: standard output)."
    ),
) -> None:
    """Sign the chain's current size, head and Merkle root now and print the checkpoint
    (JSON): keep it somewhere the database's operators cannot reach, to check the chain
    and proofs against later."""
    from tangkal.audit import checkpoints
    from tangkal.audit.signing import load_key

    key = load_key(check_environment())
    with unit_of_work() as session:
        text = json.dumps(checkpoints.as_dict(checkpoints.make(session, key)), indent=2) + "\n"
    _write(text, output, "checkpoint")


@app.command("prove")
@friendly
def prove(
    seq: int | None = typer.Option(
        None, "--seq", min=0, help="Prove that this entry is in the tree (an inclusion proof)."
    ),
    first: int | None = typer.Option(
        None,
        "--first",
        min=0,
        help="Instead: prove that the tree of --size entries extends the tree of this many "
        "(a consistency proof).",
    ),
    size: int | None = typer.Option(
        None, "--size", min=0, help="The tree's size, e.g. a checkpoint's (default: the chain's)."
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write it to this file (default: standard output)."
    ),
) -> None:
    """Print an RFC 9162 Merkle proof (JSON) from the local database, the same as the public
    endpoints /api/v1/public/audit/proof/inclusion and .../consistency answer."""
    from tangkal.audit import proofs

    if (seq is None) == (first is None):
        fail("give exactly one of --seq N (inclusion) and --first M (consistency)")
    with database().read_only() as session:
        proof = (
            proofs.inclusion(session, seq, size)
            if seq is not None
            else proofs.consistency(session, first or 0, size)
        )
    _write(json.dumps(proof, indent=2) + "\n", output, "proof")


@app.command("check-proof")
@friendly
def check_proof(
    proof_file: Path = typer.Argument(..., help="The proof (JSON), from prove or the endpoint."),
    checkpoint: list[Path] = typer.Option(
        ...,
        "--checkpoint",
        help="A signed v2 checkpoint of the proof's tree size; a consistency proof needs the "
        "checkpoints of both its sizes (give --checkpoint twice).",
    ),
    public_key: str | None = typer.Option(None, "--public-key", help=_PUBLIC_KEY_HELP),
    entry_hash: str | None = typer.Option(
        None,
        "--entry-hash",
        help="For an inclusion proof: the chain hash of the entry you mean (as GET "
        "/api/v1/audit shows it); refuse a proof of any other.",
    ),
) -> None:
    """Check a proof against signed checkpoints offline, without the database: exit 0 when
    it holds, 1 naming why not."""
    from tangkal.audit import proofcheck

    held = [_checkpoint(path) for path in checkpoint]
    try:
        proof = proofcheck.parse(proof_file.read_text(encoding="utf-8"))
    except OSError as exc:
        fail(f"cannot read the proof {proof_file}: {exc}")
    except proofcheck.ProofRefused as exc:
        fail(f"cannot use the proof {proof_file}: {exc}")
    try:
        checked = proofcheck.check(
            proof, held, trusted_public_key=public_key, entry_hash=entry_hash
        )
    except proofcheck.ProofRefused as exc:
        err.print(f"[bold red]proof refused[/]: {exc}", highlight=False)
        raise typer.Exit(1) from None
    typer.echo(f"proof holds: {checked.summary}")
