"""Proofs over the stored chain, v2 checkpoints that sign its Merkle root, v1 checkpoints
that still verify, and the offline check of a proof file against signed checkpoints."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from tangkal.accounts.principal import SYSTEM
from tangkal.audit import checkpoints, merkle, proofcheck, proofs, signing
from tangkal.audit.models import AuditCheckpoint, AuditEvent
from tangkal.audit.services import record
from tangkal.db.base import utcnow
from tangkal.db.session import Database
from tangkal.errors import Conflict, InvalidInput
from tangkal.settings import Settings

N = 21


@pytest.fixture(autouse=True)
def _small_chunks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Chunks of 4 leaves, so 21 entries have cached chunks, a tail and a partial chunk."""
    monkeypatch.setattr(merkle, "CHUNK", 4)
    merkle.clear_cache()
    yield
    merkle.clear_cache()


def _events(db: Database, n: int) -> None:
    with db.unit_of_work() as s:
        for i in range(n):
            record(s, SYSTEM, "thing.done", "thing", str(i), {"i": i})


def _hashes(db: Database) -> list[bytes]:
    with db.read_only() as s:
        return [bytes.fromhex(h) for h in s.scalars(select(AuditEvent.hash).order_by("seq"))]


def _key(tmp_path: Path) -> Any:
    return signing.load_key(Settings(data_dir=tmp_path))  # type: ignore[call-arg]


def _checkpoint(db: Database, tmp_path: Path) -> dict[str, Any]:
    with db.unit_of_work() as s:
        made = checkpoints.as_dict(checkpoints.make(s, _key(tmp_path)))
    return checkpoints.parse(json.dumps(made))


def test_every_proof_over_the_stored_chain_verifies(db: Database) -> None:
    _events(db, N)
    leaves = _hashes(db)
    assert len(leaves) == N
    with db.read_only() as s:
        assert proofs.tree_size(s) == N
        for n in range(1, N + 1):
            want = merkle.root(leaves[:n])
            assert proofs.root_at(s, n) == proofs.recompute_root(s, n) == want
            for seq in range(1, n + 1):
                p = proofs.inclusion(s, seq, n)
                assert p["leaf_index"] == seq - 1 and p["tree_size"] == n
                assert p["entry_hash"] == leaves[seq - 1].hex() and p["root"] == want.hex()
                path = [bytes.fromhex(h) for h in p["audit_path"]]
                leaf = bytes.fromhex(p["leaf_hash"])
                assert merkle.verify_inclusion(seq - 1, n, leaf, path, want)
            for m in range(1, n + 1):
                c = proofs.consistency(s, m, n)
                steps = [bytes.fromhex(h) for h in c["proof"]]
                first_root = merkle.root(leaves[:m])
                assert c["first_root"] == first_root.hex() and c["second_root"] == want.hex()
                assert merkle.verify_consistency(m, n, first_root, want, steps)
        # the defaults: the whole chain
        assert proofs.inclusion(s, 1)["tree_size"] == N
        assert proofs.consistency(s, 3)["second"] == N


@pytest.mark.parametrize(
    "call, field, words",
    [
        (lambda s: proofs.inclusion(s, 1, 0), "size", "at least 1"),
        (lambda s: proofs.inclusion(s, 0, 3), "seq", "at least 1"),
        (lambda s: proofs.inclusion(s, 4, 3), "seq", "size of at least 4"),
        (lambda s: proofs.inclusion(s, 9, None), "seq", "has 5 entries"),
        (lambda s: proofs.inclusion(s, 1, 6), "size", "has 5 entries"),
        (lambda s: proofs.consistency(s, 0, 3), "first", "at least 1"),
        (lambda s: proofs.consistency(s, 4, 3), "first", "swap them"),
        (lambda s: proofs.consistency(s, 2, 6), "second", "at most 5"),
    ],
)
def test_bad_sizes_are_refused_naming_the_field(
    db: Database, call: Any, field: str, words: str
) -> None:
    _events(db, 5)
    with db.read_only() as s, pytest.raises(InvalidInput) as caught:
        call(s)
    assert caught.value.field == field and words in caught.value.message


def test_a_hole_in_the_chain_is_an_error_not_another_tree(db: Database) -> None:
    _events(db, 10)
    with db.unit_of_work() as s:
        s.execute(delete(AuditEvent).where(AuditEvent.seq == 6))
    with db.read_only() as s, pytest.raises(Conflict, match="missing entries"):
        proofs.inclusion(s, 2, 9)


def test_a_v2_checkpoint_signs_the_root_and_catches_a_rewritten_middle(
    db: Database, tmp_path: Path
) -> None:
    _events(db, 9)
    cp = _checkpoint(db, tmp_path)
    assert cp["version"] == "tangkal-audit-checkpoint/v2"
    assert cp["root"] == merkle.root(_hashes(db)).hex()
    with db.read_only() as s:
        assert checkpoints.check(s, cp).ok
    # the root cannot be dropped to pass the checkpoint off as v1, nor replaced
    stripped = {k: v for k, v in cp.items() if k not in ("root", "version")}
    assert "signature" in str(checkpoints.signature_problem(stripped))
    assert "signature" in str(checkpoints.signature_problem({**cp, "root": "0" * 64}))
    with pytest.raises(ValueError, match="'root' is missing"):
        checkpoints.parse(json.dumps({k: v for k, v in cp.items() if k != "root"}))
    # an entry's hash replaced in the middle: the head still matches, the root does not
    with db.unit_of_work() as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq == 4).values(hash="e" * 64))
    with db.read_only() as s:
        result = checkpoints.check(s, cp)
    assert not result.ok and "Merkle root" in str(result.problem)


def test_a_v1_checkpoint_signed_before_roots_still_verifies(db: Database, tmp_path: Path) -> None:
    _events(db, 4)
    key = _key(tmp_path)
    public = signing.public_key_b64(key)
    with db.unit_of_work() as s:  # as the server signed them before 0501_audit_merkle
        head = s.scalar(select(AuditEvent.hash).where(AuditEvent.seq == 4))
        assert head is not None
        at = utcnow()
        old = AuditCheckpoint(
            size=4,
            head=head,
            signed_at=at,
            key_id=signing.key_id(public),
            public_key=public,
            signature=signing.sign(
                key, f"tangkal-audit-checkpoint/v1\n4\n{head}\n{checkpoints._iso(at)}\n".encode()
            ),
        )
        s.add(old)
        s.flush()
        served = checkpoints.as_dict(old)
    assert served["version"] == "tangkal-audit-checkpoint/v1" and "root" not in served
    held = checkpoints.parse(json.dumps(served))
    with db.read_only() as s:
        assert checkpoints.check(s, held, trusted_public_key=public).ok
    # it cannot back a proof: it signs no root
    with db.read_only() as s:
        proof = proofs.inclusion(s, 2, 4)
    with pytest.raises(proofcheck.ProofRefused, match="no signed v2 checkpoint of size 4"):
        proofcheck.check(proof, [held])


def test_the_offline_check_holds_and_refuses_what_does_not(db: Database, tmp_path: Path) -> None:
    _events(db, 6)
    first = _checkpoint(db, tmp_path)
    _events(db, 7)
    second = _checkpoint(db, tmp_path)
    with db.read_only() as s:
        inc = json.loads(json.dumps(proofs.inclusion(s, 5, first["size"])))
        con = json.loads(json.dumps(proofs.consistency(s, first["size"], second["size"])))
    both = [first, second]
    assert "entry 5 is in" in proofcheck.check(inc, both, entry_hash=inc["entry_hash"]).summary
    assert "extends" in proofcheck.check(con, both, trusted_public_key=first["public_key"]).summary

    def refused(proof: dict[str, Any], held: list[dict[str, Any]], words: str, **kw: Any) -> None:
        with pytest.raises(proofcheck.ProofRefused, match=words):
            proofcheck.check(proof, held, **kw)

    flipped = inc["audit_path"][0][:-1] + ("0" if inc["audit_path"][0][-1] != "0" else "1")
    refused({**inc, "audit_path": [flipped, *inc["audit_path"][1:]]}, both, "does not hold")
    refused({**inc, "seq": 4, "leaf_index": 3}, both, "does not hold")
    refused({**inc, "root": second["root"], "tree_size": second["size"]}, both, "does not hold")
    refused({**inc, "leaf_hash": "a" * 64}, both, "not the leaf hash")
    refused(inc, both, "another entry", entry_hash="b" * 64)
    refused(inc, [second], "no signed v2 checkpoint of size 6")
    refused({**con, "proof": con["proof"][:-1]}, both, "does not hold")
    refused(con, [second], "no signed v2 checkpoint of size 6")
    refused(
        con, both, "another key", trusted_public_key=signing.public_key_b64(_key(tmp_path / "o"))
    )
    forged = {**first, "root": second["root"]}
    refused(con, [forged, second], "signature does not verify")
    # the same size signed twice with different roots: the log forked, whatever the proof
    key = _key(tmp_path)
    fork_root = "c" * 64
    fork = {
        **first,
        "root": fork_root,
        "signature": signing.sign(
            key, checkpoints.message(first["size"], first["head"], first["signed_at"], fork_root)
        ),
    }
    assert checkpoints.signature_problem(fork) is None
    refused(inc, [first, fork], "different histories")
    refused({**con, "proof": ["zz"]}, both, "not a SHA-256 hash")
    with pytest.raises(proofcheck.ProofRefused, match="not a proof"):
        proofcheck.parse('{"kind": "other"}')
    with pytest.raises(proofcheck.ProofRefused, match="not JSON"):
        proofcheck.parse("{")
