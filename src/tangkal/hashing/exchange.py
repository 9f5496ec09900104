"""Bulk import and export of bank content in the shapes hash exchanges use.

Every format is one row of :data:`FORMATS` (name, media type, file extension, reader, writer);
the CLI, the API and the console look a format up there and never branch on its name.

* ``te``: threatexchange's local signal file (``LocalFileSignalExchangeAPI``, which HMA's file
  exchange also reads): one ``<signal_type> <signal>`` a line.
* ``csv``: a header with at least ``signal_type,signal``; ``label`` is kept when present.
  tangkal's export adds ``origin`` (``tangkal:content:<id>``, the original a row is, or is a
  copy of) and ``confirmed``/``false_positive`` (the verdicts on it so far, copies' included).
  Importing such a file into another bank of the same tangkal makes each row a copy of its
  original, so feedback on the copy reaches the original's owner; an ``origin`` this tangkal
  cannot resolve (another deployment's) is kept as the row's ``source_ref``, and the counts
  are kept as what the file reported (:class:`~tangkal.hashing.models.ContentSource`). The
  te format is one signal a line and TAT's hash list has no verdict fields, so neither
  carries them.
* ``tat``: Tech Against Terrorism's Hash List API v2 page (TCAP), as TAT documents it and
  threatexchange's TAT client parses it: ``{"count", "next", "previous", "checkpoint",
  "results": [{"id", "hash_digest", "algorithm", "ideology", "file_type", "deleted",
  "created_on", "updated_on"}]}`` (a bare list of entries is also read). Entries marked
  ``deleted`` are removed from the bank.

Signal types are written under the names threatexchange 1.2 and HMA give them
(``SignalType.te_name``: ``pdq``, ``video_md5``, ``video_sha256``) and read under any of a
type's names (its own, its aliases, TAT's algorithm names).

A row is *bad* when its type is known and its signal is not valid for it, and *unsupported*
when no registered type answers to its type name (threatexchange's ``url``, ``raw_text``,
TAT's ``SHA512``). Every row is checked before anything is written: by default a file with a
bad or unsupported row is refused whole, naming the lines, so a bank never holds half an import;
``skip_unsupported`` imports the rest and says what it left (count per type, first lines). Bad
rows always refuse the file: they are mistakes, not another exchange's vocabulary.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from tangkal.accounts.principal import Principal
from tangkal.audit.services import record
from tangkal.errors import InvalidInput, Msg
from tangkal.hashing import signals
from tangkal.hashing.banks import get_bank
from tangkal.hashing.content import add_signals
from tangkal.hashing.models import Bank, BankContent, ContentSource, HashChange, SourceKind

BATCH = 5000
FIRST_LINES = 5
"""How many line numbers of each unsupported type an import names."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One row of a file as its reader sees it, before the type is resolved."""

    where: Msg  # "line 3" / "entry 3": how the reader's user finds the row
    line: int
    type_name: str  # as the file spells it
    signal: str
    label: str | None = None
    source_ref: str | None = None
    deleted: bool = False
    tat: bool = False  # type_name is a TAT algorithm, not a signal type name
    origin: str | None = None  # tangkal:content:<id> (tangkal's CSV export)
    reported: tuple[int, int] | None = None  # (confirmed, false_positive) the file reported


@dataclass(frozen=True, slots=True)
class Bad:
    """A row its reader could not read at all."""

    where: Msg
    problem: Msg


Reader = Callable[[str], Iterator[Entry | Bad]]


class Annotations:
    """What an export knows of each row besides the row: its original and the verdicts so
    far. Filled a page at a time as the rows are read, so a writer asks for its current row."""

    def __init__(self) -> None:
        self.origin: dict[int, int] = {}
        self.verdicts: dict[int, dict[str, int]] = {}

    def add_page(self, session: Session, rows: list[BankContent]) -> None:
        from tangkal.hashing.feedback import feedback_counts

        ids = [r.id for r in rows]
        self.origin = {r.id: r.id for r in rows} | {
            cid: oid
            for cid, oid in session.execute(
                select(ContentSource.content_id, ContentSource.origin_content_id).where(
                    ContentSource.content_id.in_(ids),
                    ContentSource.origin_content_id.is_not(None),
                )
            )
            if oid is not None
        }
        self.verdicts = feedback_counts(session, ids)


Writer = Callable[[Iterable[BankContent], int, Annotations], Iterator[str]]


@dataclass(frozen=True, slots=True)
class ExchangeFormat:
    """One exchange file format: what it is called, how it is served and read and written."""

    name: str
    media_type: str
    extension: str
    reader: Reader
    writer: Writer
    description: str
    carries: Callable[[signals.SignalType], bool] = lambda _st: True
    """Which signal types the format can name (TAT has no name for text signals); an export
    writes, and counts, only those."""

    def filename(self, bank_name: str) -> str:
        """A download name safe in a Content-Disposition header."""
        safe = "".join(ch for ch in bank_name.strip().lower() if ch.isalnum() or ch in "._-")
        return f"{safe or 'bank'}.{self.extension}"


# --------------------------------------------------------------------------- te


def _read_te(text: str) -> Iterator[Entry | Bad]:
    for i, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        stype, _, signal = line.partition(" ")
        yield Entry(Msg("line %(n)s", n=i), i, stype, signal.strip())


def _write_te(rows: Iterable[BankContent], _count: int, _notes: Annotations) -> Iterator[str]:
    for r in rows:
        yield f"{signals.get(r.signal_type).te_name} {r.signal}\n"


# -------------------------------------------------------------------------- csv


def _read_csv(text: str) -> Iterator[Entry | Bad]:
    reader = csv.DictReader(io.StringIO(text))
    cols = {c.strip().lower() for c in reader.fieldnames or []}
    if not {"signal_type", "signal"} <= cols:
        raise InvalidInput(Msg("A CSV needs the columns signal_type and signal."), field="file")
    for row in reader:
        r = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
        n = reader.line_num
        where = Msg("line %(n)s", n=n)
        try:
            counts = [int(r.get(k) or 0) for k in ("confirmed", "false_positive")]
        except ValueError:
            yield Bad(where, Msg("confirmed and false_positive are whole numbers"))
            continue
        yield Entry(
            where,
            n,
            r["signal_type"],
            r["signal"],
            r.get("label") or None,
            origin=r.get("origin") or None,
            reported=(counts[0], counts[1]) if any(counts) else None,
        )


def _write_csv(rows: Iterable[BankContent], _count: int, notes: Annotations) -> Iterator[str]:
    yield "signal_type,signal,label,origin,confirmed,false_positive\n"
    for r in rows:
        buf = io.StringIO()
        verdicts = notes.verdicts.get(r.id, {})
        csv.writer(buf).writerow(
            [
                signals.get(r.signal_type).te_name,
                r.signal,
                r.label or "",
                f"tangkal:content:{notes.origin.get(r.id, r.id)}",
                verdicts.get("confirmed", 0),
                verdicts.get("false_positive", 0),
            ]
        )
        yield buf.getvalue()


# -------------------------------------------------------------------------- tat

_TAT_REF = re.compile(r"tat:(\d+)")
_TAT_LABEL = re.compile(r"(?P<ideology>[a-z][a-z-]*)/(?P<file_type>[a-z0-9]{1,10})")


def _read_tat(text: str) -> Iterator[Entry | Bad]:
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
        where = Msg("entry %(n)s", n=i)
        if not isinstance(e, dict) or "hash_digest" not in e or "algorithm" not in e:
            yield Bad(where, Msg("needs hash_digest and algorithm"))
            continue
        label = "/".join(str(e[k]) for k in ("ideology", "file_type") if e.get(k)) or None
        ref = f"tat:{e['id']}" if isinstance(e.get("id"), int) else None
        yield Entry(
            where,
            i,
            str(e["algorithm"]),
            str(e["hash_digest"]),
            label,
            ref,
            bool(e.get("deleted")),
            tat=True,
        )


def _file_type(r: BankContent) -> str | None:
    """What TAT calls the file's type: kept from a TAT import, else the banked file's suffix."""
    m = _TAT_LABEL.fullmatch(r.label or "")
    if m:
        return m["file_type"]
    suffix = PurePosixPath(r.source_ref or "").suffix.lstrip(".").lower()
    return suffix if suffix.isalnum() and len(suffix) <= 10 else None


def _write_tat(rows: Iterable[BankContent], count: int, _notes: Annotations) -> Iterator[str]:
    """One TAT v2 page holding the whole bank (``next``/``previous`` null). ``id`` is TAT's own
    when the row came from TAT, else tangkal's row id; ``checkpoint`` is TAT's
    ``<updated_on>,<id>`` of the last entry, which threatexchange resumes from."""
    yield json.dumps({"count": count, "next": None, "previous": None})[:-1] + ', "results": ['
    last = ""
    sep = "\n"
    for r in rows:
        st = signals.get(r.signal_type)
        ref = _TAT_REF.fullmatch(r.source_ref or "")
        m = _TAT_LABEL.fullmatch(r.label or "")
        created = r.created_at.replace(tzinfo=r.created_at.tzinfo or UTC)
        item: dict[str, Any] = {
            "id": int(ref[1]) if ref else r.id,
            "hash_digest": r.signal,
            "algorithm": st.tat_algorithms[0],
            "ideology": m["ideology"] if m else None,
            "file_type": _file_type(r),
            "deleted": False,
            "created_on": created.isoformat(),
            "updated_on": created.timestamp(),
        }
        yield sep + json.dumps(item)
        sep = ",\n"
        last = f"{int(item['updated_on'])},{item['id']}"
    yield "\n], " + json.dumps({"checkpoint": last})[1:] + "\n"


# ------------------------------------------------------------------------ table

FORMATS: dict[str, ExchangeFormat] = {
    f.name: f
    for f in (
        ExchangeFormat(
            "te",
            "text/plain",
            "te",
            _read_te,
            _write_te,
            "threatexchange/HMA signal file: '<signal_type> <signal>' a line",
        ),
        ExchangeFormat(
            "csv",
            "text/csv",
            "csv",
            _read_csv,
            _write_csv,
            "CSV with signal_type, signal and label columns",
        ),
        ExchangeFormat(
            "tat",
            "application/json",
            "json",
            _read_tat,
            _write_tat,
            "Tech Against Terrorism hash list (API v2 page)",
            lambda st: bool(st.tat_algorithms),
        ),
    )
}
"""Every exchange format, by name (iterating gives the names)."""


def get_format(name: str) -> ExchangeFormat:
    """The format called ``name``, or InvalidInput naming the field and the known formats."""
    fmt = FORMATS.get(name.strip().lower()) if isinstance(name, str) else None
    if fmt is None:
        raise InvalidInput(
            Msg(
                "Unknown format %(format)r; use one of: %(formats)s.",
                format=name,
                formats=", ".join(FORMATS),
            ),
            field="format",
        )
    return fmt


# ------------------------------------------------------------------------ parse


@dataclass(frozen=True, slots=True)
class Skipped:
    """The rows of one unsupported type an import left out."""

    count: int
    first_lines: list[int]


@dataclass
class Parsed:
    add: list[tuple[str, str, str | None, str | None]] = field(default_factory=list)
    # type, signal, label, source_ref
    rows: dict[tuple[str, str], Entry] = field(default_factory=dict)  # the row each came from
    remove: list[tuple[str, str]] = field(default_factory=list)
    errors: list[Msg] = field(default_factory=list)  # one per bad row, shown together
    unsupported: dict[str, list[int]] = field(default_factory=dict)  # name in file -> lines
    unsupported_msgs: list[Msg] = field(default_factory=list)

    def skipped(self) -> dict[str, Skipped]:
        return {k: Skipped(len(v), v[:FIRST_LINES]) for k, v in self.unsupported.items()}


def _resolve(entry: Entry) -> signals.SignalType | None:
    if entry.tat:
        return signals.REGISTRY.for_tat(entry.type_name)
    name = entry.type_name.strip().lower()
    try:
        return signals.get(name) if name else None
    except InvalidInput:
        return None


def parse(data: bytes, fmt: str) -> Parsed:
    """Read and check every row of ``data``; nothing is written."""
    reader = get_format(fmt).reader
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(Msg("The file is not UTF-8 text."), field="file") from None
    out = Parsed()
    for e in reader(text):
        if isinstance(e, Bad):
            out.errors.append(Msg("%(where)s: %(problem)s", where=e.where, problem=e.problem))
            continue
        st = _resolve(e)
        if st is None:
            key = e.type_name.strip() or "(none)"
            out.unsupported.setdefault(key, []).append(e.line)
            known = signals.REGISTRY.tat_algorithms() if e.tat else signals.REGISTRY.names()
            out.unsupported_msgs.append(
                Msg(
                    "%(where)s: signal type %(name)r is not supported (known: %(known)s)",
                    where=e.where,
                    name=key,
                    known=", ".join(known),
                )
            )
            continue
        try:
            value = st.validate(e.signal)
        except InvalidInput as exc:
            out.errors.append(Msg("%(where)s: %(problem)s", where=e.where, problem=exc.msg))
            continue
        if e.deleted:
            out.remove.append((st.name, value))
        else:
            out.add.append((st.name, value, e.label, e.source_ref))
            out.rows.setdefault((st.name, value), e)
    return out


# ----------------------------------------------------------------------- import


@dataclass(frozen=True, slots=True)
class ImportResult:
    added: int
    duplicates: int
    removed: int
    skipped: dict[str, Skipped] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "duplicates": self.duplicates,
            "removed": self.removed,
            "skipped": {
                k: {"count": v.count, "first_lines": v.first_lines} for k, v in self.skipped.items()
            },
        }


def _refuse(problems: list[Msg]) -> InvalidInput:
    shown = tuple(problems[:20])  # joined with "; " when shown (Msg.render)
    more = Msg(" (and %(n)s more)", n=len(problems) - 20) if len(problems) > 20 else ""
    return InvalidInput(
        Msg(
            "Nothing was imported: %(n)s bad rows: %(rows)s%(more)s",
            n=len(problems),
            rows=shown,
            more=more,
        ),
        field="file",
        bad_rows=len(problems),
    )


def import_into(
    session: Session,
    principal: Principal,
    bank_name: str,
    data: bytes,
    fmt: str,
    progress: Callable[[int, int], None] | None = None,
    *,
    skip_unsupported: bool = False,
) -> ImportResult:
    """Import a file into a bank: every row, or none (see the module docstring)."""
    bank = get_bank(session, principal, bank_name, write=True)
    exchange_format = get_format(fmt)
    parsed = parse(data, fmt)
    problems = parsed.errors + ([] if skip_unsupported else parsed.unsupported_msgs)
    if problems:
        raise _refuse(problems)
    origins = _origins(session, principal, parsed)
    sources = {p: _source(exchange_format.name, e, origins) for p, e in parsed.rows.items()}
    # an origin this tangkal does not hold (another deployment's) stays the row's reference
    parsed.add = [
        (t, sig, lab, ref or (None if sources[(t, sig)]["kind"] is SourceKind.BANK else o))
        for t, sig, lab, ref in parsed.add
        for o in [parsed.rows[(t, sig)].origin]
    ]
    added = dup = removed = 0
    total = len(parsed.add) + len(parsed.remove)
    meta: dict[tuple[str, str], tuple[str | None, str | None]] = {
        (t, s): (lab, ref) for t, s, lab, ref in parsed.add
    }
    pairs = list(meta)
    for start in range(0, len(pairs), BATCH):
        chunk = pairs[start : start + BATCH]
        by_meta: dict[tuple[str | None, str | None], list[tuple[str, str]]] = {}
        for p in chunk:
            by_meta.setdefault(meta[p], []).append(p)
        for (label, ref), items in by_meta.items():
            rows, d = add_signals(
                session,
                principal,
                bank,
                items,
                label=label,
                source_ref=ref or f"import:{exchange_format.name}",
                sources=sources,
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
    result = ImportResult(added, dup, removed, parsed.skipped())
    record(
        session,
        principal,
        "bank.imported",
        "bank",
        bank.id,
        {"bank": bank.name, "format": exchange_format.name, **result.as_dict()},
    )
    return result


_ORIGIN = re.compile(r"tangkal:content:(\d{1,18})")


def _origins(
    session: Session, principal: Principal, parsed: Parsed
) -> dict[int, tuple[BankContent, Bank]]:
    """The originals the rows name that this tangkal holds and the importer may see, with
    the same type and signal as the row (a row naming another content is not its copy)."""
    wanted = {
        int(m[1]): key
        for key, e in parsed.rows.items()
        if e.origin and (m := _ORIGIN.fullmatch(e.origin))
    }
    if not wanted:
        return {}
    found = session.execute(
        select(BankContent, Bank)
        .join(Bank)
        .where(
            BankContent.id.in_(list(wanted)),
            or_(Bank.shared.is_(True), Bank.owner_org_id == principal.org_id),
        )
    ).all()
    return {c.id: (c, b) for c, b in found if (c.signal_type, c.signal) == wanted[c.id]}


def _source(fmt: str, e: Entry, origins: dict[int, tuple[BankContent, Bank]]) -> dict[str, Any]:
    """The provenance of an imported row: a copy of a content held here, else a file row."""
    m = _ORIGIN.fullmatch(e.origin or "")
    if m and int(m[1]) in origins:
        c, b = origins[int(m[1])]
        return {
            "kind": SourceKind.BANK,
            "origin_content_id": c.id,
            "origin_bank_id": b.id,
            "origin_org_id": b.owner_org_id,
            "file_format": fmt,
            "file_row": e.line,
        }
    return {
        "kind": SourceKind.FILE,
        "file_format": fmt,
        "file_row": e.line,
        "reported_confirmed": e.reported[0] if e.reported else None,
        "reported_false_positive": e.reported[1] if e.reported else None,
    }


def describe_skipped(skipped: dict[str, Skipped]) -> str:
    """One line for a person: what an import left out, and where."""
    return "; ".join(
        f"{name}: {s.count} rows (lines {', '.join(map(str, s.first_lines))}"
        f"{', ...' if s.count > len(s.first_lines) else ''})"
        for name, s in skipped.items()
    )


# ----------------------------------------------------------------------- export


def export(session: Session, principal: Principal, bank_name: str, fmt: str) -> Iterator[str]:
    """Stream a bank in one of the exchange shapes, in id order, a page at a time."""
    bank = get_bank(session, principal, bank_name)
    exchange_format = get_format(fmt)
    counted = [st.name for st in signals.REGISTRY if exchange_format.carries(st)]
    count = (
        session.scalar(
            select(func.count())
            .select_from(BankContent)
            .where(BankContent.bank_id == bank.id, BankContent.signal_type.in_(counted))
        )
        or 0
    )

    notes = Annotations()

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
            notes.add_page(session, page)
            yield from (r for r in page if r.signal_type in counted)
            after = page[-1].id

    yield from exchange_format.writer(rows(), count, notes)
