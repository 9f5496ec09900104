"""Bulk import and export of bank content in the shapes hash exchanges use.

* ``te``: ThreatExchange/HMA's signal file, one ``<signal_type> <signal>`` per line (HMA's
  local-file exchange reads exactly this). The names exchanges use for a type (ThreatExchange's
  ``video_md5`` for ``md5``) are the type's own ``aliases``, resolved by the registry.
* ``csv``: a header with at least ``signal_type,signal``; ``label`` is kept when present.
* ``tat``: Tech Against Terrorism's hash list (v2 JSON pages: ``{"results": [{"hash_digest",
  "algorithm", "deleted", "ideology", "file_type", "id", ...}]}``, or a bare list of entries).
  Entries marked ``deleted`` are removed from the bank.

Every row is validated before anything is written: a file with a bad row is refused whole,
with the row numbers and reasons, so a bank never holds half an import.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tangkal.accounts.principal import Principal
from tangkal.audit.services import record
from tangkal.errors import InvalidInput, Msg
from tangkal.hashing import signals
from tangkal.hashing.models import BankContent, HashChange
from tangkal.hashing.services import _add_signals, get_bank

FORMATS = ("te", "csv", "tat")
BATCH = 5000


@dataclass
class Parsed:
    add: list[tuple[str, str, str | None]] = field(default_factory=list)  # type, signal, label
    remove: list[tuple[str, str]] = field(default_factory=list)
    errors: list[Msg] = field(default_factory=list)  # one per bad row, shown together


def _check(
    parsed: Parsed, line: int, stype: str, signal: str, label: str | None, deleted: bool = False
) -> None:
    try:
        st = signals.get(stype)
        value = st.validate(signal)
    except InvalidInput as exc:
        parsed.errors.append(Msg("row %(line)s: %(problem)s", line=line, problem=exc.msg))
        return
    if deleted:
        parsed.remove.append((st.name, value))
    else:
        parsed.add.append((st.name, value, label))


def parse(data: bytes, fmt: str) -> Parsed:
    if fmt not in FORMATS:
        raise InvalidInput(
            Msg(
                "Unknown format %(format)r; use one of: %(formats)s.",
                format=fmt,
                formats=", ".join(FORMATS),
            ),
            field="format",
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(Msg("The file is not UTF-8 text."), field="file") from None
    out = Parsed()
    if fmt == "te":
        for i, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            stype, _, signal = line.partition(" ")
            _check(out, i, stype, signal.strip(), None)
    elif fmt == "csv":
        reader = csv.DictReader(io.StringIO(text))
        cols = {c.strip().lower() for c in reader.fieldnames or []}
        if not {"signal_type", "signal"} <= cols:
            raise InvalidInput(Msg("A CSV needs the columns signal_type and signal."), field="file")
        for i, row in enumerate(reader, 2):
            r = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
            _check(
                out,
                i,
                r["signal_type"],
                r["signal"],
                r.get("label") or None,
            )
    else:
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInput(
                Msg("The file is not valid JSON: %(detail)s", detail=str(exc)), field="file"
            ) from None
        entries = doc.get("results") if isinstance(doc, dict) else doc
        if not isinstance(entries, list):
            raise InvalidInput(
                Msg("A TAT hash list is a JSON object with 'results' or a list of entries."),
                field="file",
            )
        for i, e in enumerate(entries, 1):
            if not isinstance(e, dict) or "hash_digest" not in e or "algorithm" not in e:
                out.errors.append(Msg("entry %(i)s: needs hash_digest and algorithm", i=i))
                continue
            tat_type = signals.REGISTRY.for_tat(str(e["algorithm"]))
            if tat_type is None:
                out.errors.append(
                    Msg(
                        "entry %(i)s: algorithm %(algorithm)r is not supported (known: %(known)s)",
                        i=i,
                        algorithm=e["algorithm"],
                        known=", ".join(signals.REGISTRY.tat_algorithms()),
                    )
                )
                continue
            label = "/".join(str(e[k]) for k in ("ideology", "file_type") if e.get(k)) or None
            _check(out, i, tat_type.name, str(e["hash_digest"]), label, bool(e.get("deleted")))
    return out


@dataclass(frozen=True, slots=True)
class ImportResult:
    added: int
    duplicates: int
    removed: int


def import_into(
    session: Session,
    principal: Principal,
    bank_name: str,
    data: bytes,
    fmt: str,
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    bank = get_bank(session, principal, bank_name, write=True)
    parsed = parse(data, fmt)
    if parsed.errors:
        shown = tuple(parsed.errors[:20])  # joined with "; " when shown (Msg.render)
        more = (
            Msg(" (and %(n)s more)", n=len(parsed.errors) - 20) if len(parsed.errors) > 20 else ""
        )
        raise InvalidInput(
            Msg(
                "Nothing was imported: %(n)s bad rows: %(rows)s%(more)s",
                n=len(parsed.errors),
                rows=shown,
                more=more,
            ),
            field="file",
            bad_rows=len(parsed.errors),
        )
    added = dup = removed = 0
    total = len(parsed.add) + len(parsed.remove)
    labels: dict[tuple[str, str], str | None] = {(t, s): lab for t, s, lab in parsed.add}
    pairs = list(labels)
    for start in range(0, len(pairs), BATCH):
        chunk = pairs[start : start + BATCH]
        by_label: dict[str | None, list[tuple[str, str]]] = {}
        for p in chunk:
            by_label.setdefault(labels[p], []).append(p)
        for label, items in by_label.items():
            rows, d = _add_signals(
                session, principal, bank, items, label=label, source_ref=f"import:{fmt}"
            )
            added += len(rows)
            dup += d
        if progress:
            progress(min(start + BATCH, len(pairs)), total)
    for stype, signal in parsed.remove:
        row = session.scalar(
            select(BankContent).where(
                BankContent.bank_id == bank.id,
                BankContent.signal_type == stype,
                BankContent.signal == signal,
            )
        )
        if row is not None:
            session.add(
                HashChange(content_id=row.id, op="remove", signal_type=stype, signal=signal)
            )
            session.delete(row)
            removed += 1
    session.flush()
    if progress:
        progress(total, total)
    record(
        session,
        principal,
        "bank.imported",
        "bank",
        bank.id,
        {"bank": bank.name, "format": fmt, "added": added, "duplicates": dup, "removed": removed},
    )
    return ImportResult(added, dup, removed)


def export(session: Session, principal: Principal, bank_name: str, fmt: str) -> Iterator[str]:
    """Stream a bank in one of the exchange shapes, in id order, a page at a time."""
    bank = get_bank(session, principal, bank_name)
    if fmt not in FORMATS:
        raise InvalidInput(
            Msg(
                "Unknown format %(format)r; use one of: %(formats)s.",
                format=fmt,
                formats=", ".join(FORMATS),
            ),
            field="format",
        )
    inverse = {st.name: st.tat_algorithms[0] for st in signals.REGISTRY if st.tat_algorithms}

    def rows() -> Iterator[BankContent]:
        after = 0
        while True:
            page = list(
                session.scalars(
                    select(BankContent)
                    .where(BankContent.bank_id == bank.id, BankContent.id > after)
                    .order_by(BankContent.id)
                    .limit(BATCH)
                )
            )
            if not page:
                return
            yield from page
            after = page[-1].id

    if fmt == "te":
        for r in rows():
            yield f"{r.signal_type} {r.signal}\n"
    elif fmt == "csv":
        yield "signal_type,signal,label\n"
        for r in rows():
            buf = io.StringIO()
            csv.writer(buf).writerow([r.signal_type, r.signal, r.label or ""])
            yield buf.getvalue()
    else:
        yield '{"results": ['
        first = True
        for r in rows():
            if r.signal_type not in inverse:
                continue
            item: dict[str, Any] = {
                "id": r.id,
                "hash_digest": r.signal,
                "algorithm": inverse[r.signal_type],
                "deleted": False,
                "created_on": r.created_at.isoformat(),
            }
            yield ("" if first else ",") + json.dumps(item)
            first = False
        yield "]}\n"
