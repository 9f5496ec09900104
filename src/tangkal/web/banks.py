"""Hash banks and matching in the console, for the regulator and platform moderators.

Everything goes through ``tangkal.hashing``'s bank modules and its ``exchange``: a bank
another platform keeps private answers 404 here exactly as it does on the API, only the owner
changes a bank, and matching sees only shared banks and the caller's own. The export link
streams the same file as ``/api/v1/banks/{name}/export`` but with the console session, since
a browser cannot send the API's Bearer token.

The quarantine (:mod:`tangkal.hashing.quarantine`) shows twice: its owner's review queue is a
section of the bank page, with Release and Delete through the same services as the API, and a
lookup's held contents are shown on the match page apart from the matches, as held for review.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, Query, UploadFile
from fastapi.responses import Response, StreamingResponse

from tangkal.accounts.models import OrgKind
from tangkal.accounts.principal import Principal
from tangkal.api.deps import UnitOfWork
from tangkal.errors import Busy, Conflict, InvalidInput, Msg, TooLarge
from tangkal.hashing import banks, evidence, exchange, feedback, matching, quarantine
from tangkal.hashing.budget import hash_upload
from tangkal.hashing.content import (
    add_file,
    content_dict,
    hash_content,
    list_content,
    remove_content,
)
from tangkal.hashing.matcher import BankIndexes, indexes_for
from tangkal.hashing.models import Bank, FindVia
from tangkal.hashing.signals import SignalResult
from tangkal.web import queries
from tangkal.web.deps import ConsolePage, HtmlRoute, Page
from tangkal.web.display import closeness, short_signal
from tangkal.web.i18n import as_datetime

router = APIRouter(prefix="/console", route_class=HtmlRoute, include_in_schema=False)

PAGE_SIZE = 100
MAX_TEXT = 100_000
#: a content id in a path, as the API bounds it
HeldId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _indexes(page: Page) -> BankIndexes:
    app = page.request.app
    return indexes_for(app.state.db, page.settings.data_dir)


def _users(page: Page) -> Principal:
    """Banks are for the regulator and the platforms; ISPs only receive the RPZ. Returns the
    signed-in caller, checked."""
    p = page.principal
    assert p is not None
    p.require_kind(OrgKind.REGULATOR, OrgKind.PLATFORM)
    p.require(*banks.READ_ROLES)
    return p


async def _read(upload: UploadFile | None, limit: int) -> bytes:
    if upload is None or not upload.filename:
        raise InvalidInput(Msg("Choose a file to upload."), field="file")
    content = await upload.read(limit + 1)
    if len(content) > limit:
        raise TooLarge(
            Msg("The file is larger than the limit of %(limit)s bytes.", limit=f"{limit:,}"),
            field="file",
        )
    if not content:
        raise InvalidInput(Msg("The file is empty."), field="file")
    return content


def _why(page: Page, result: SignalResult) -> str | None:
    """Why a signal type could not hash an upload, in the reader's language."""
    return page.fmt.message(result.why) if result.why is not None else None


def _threshold_fields() -> list[dict[str, Any]]:
    """One input per threshold of each type a bank may tune (a type's rule set, in its
    order), with its range, default, label and meaning, so a type or a threshold added to the
    registry appears here without a template change. A type's first threshold keeps the
    historic input name ``threshold_<type>``."""
    return [
        {
            "type": st.name,
            "rule": rule.name,
            "field": f"threshold_{st.name}" if i == 0 else f"threshold_{st.name}__{rule.name}",
            "min": rule.min,
            "max": rule.max,
            "default": rule.default,
            "label": rule.label,
            "meaning": rule.meaning,
            "op": "≤" if rule.loosens == "up" else "≥",
        }
        for st in banks.tunable_types()
        for i, rule in enumerate(st.rules)
    ]


async def _typed_thresholds(page: Page) -> dict[str, str]:
    """The threshold inputs as typed, by input name (to show the form again as it was
    sent)."""
    form = await page.request.form()
    out: dict[str, str] = {}
    for f in _threshold_fields():
        raw = form.get(f["field"])
        out[f["field"]] = raw.strip() if isinstance(raw, str) else ""
    return out


def _thresholds(typed: dict[str, str]) -> dict[str, int | dict[str, int]]:
    """The typed thresholds as numbers, by type and threshold name (blank inputs left out:
    the bank keeps what it has, a new bank the type's default)."""
    values: dict[str, dict[str, int]] = {}
    for f in _threshold_fields():
        raw = typed.get(f["field"], "")
        value = _int(raw, f["field"], Msg("Threshold for %(type)s", type=f["type"]))
        if value is not None:
            values.setdefault(f["type"], {})[f["rule"]] = value
    return dict(values)


def _bank_row(
    bank: Bank, counts: dict[str, int], owners: dict[str, str], org_id: str
) -> dict[str, Any]:
    d = banks.bank_dict(bank, counts)
    d["owner"] = owners.get(bank.owner_org_id, "?")
    d["own"] = bank.owner_org_id == org_id
    d["total"] = sum(counts.values())
    return d


# ------------------------------------------------------------------ list and create


def _list_page(
    page: Page,
    session: UnitOfWork,
    *,
    form: dict[str, Any] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    p = page.principal
    assert p is not None
    visible = banks.visible_banks(session, p)
    counts = banks.bank_stats(session, [b.id for b in visible])
    owners = queries.org_names(session, {b.owner_org_id for b in visible})
    fields = _threshold_fields()
    return page.render(
        "banks_list.html",
        {
            "banks": [_bank_row(b, counts.get(b.id, {}), owners, p.org_id) for b in visible],
            "can_create": p.role in banks.WRITE_ROLES,
            "threshold_fields": fields,
            "form": form
            or {
                "name": "",
                "description": "",
                "kind": "own",
                "source": "",
                "shared": p.org_kind is OrgKind.REGULATOR,
                "allowlist": False,
                "thresholds": {f["field"]: str(f["default"]) for f in fields},
            },
            "error": error,
        },
        status=status,
    )


@router.get("/banks")
def bank_list(page: ConsolePage, session: UnitOfWork) -> Response:
    _users(page)
    return _list_page(page, session)


def _int(value: str, field: str, what: Msg) -> int | None:
    v = value.strip()
    if not v:
        return None
    try:
        return int(v)
    except ValueError:
        raise InvalidInput(
            Msg("The %(what)s is a whole number, e.g. 31.", what=what), field=field
        ) from None


@router.post("/banks")
async def bank_create(
    page: ConsolePage,
    session: UnitOfWork,
    name: str = Form("", max_length=100),
    description: str = Form("", max_length=5000),
    kind: str = Form("own", max_length=20),
    source: str = Form("", max_length=200),
    shared: str = Form(""),
    allowlist: str = Form(""),
    csrf_token: str = Form(""),
) -> Response:
    page.check_csrf(csrf_token)
    p = _users(page)
    form: dict[str, Any] = {
        "name": name.strip(),
        "description": description.strip(),
        "kind": kind,
        "source": source.strip(),
        "shared": shared == "on",
        "allowlist": allowlist == "on",
        "thresholds": await _typed_thresholds(page),
    }
    try:
        thresholds = _thresholds(form["thresholds"])
        with session.begin_nested():
            bank = banks.create_bank(
                session,
                p,
                name.strip(),
                description=description.strip() or None,
                kind=kind,
                source=source.strip() or None,
                shared=shared == "on",
                allowlist=allowlist == "on",
                thresholds=thresholds,
            )
    except (InvalidInput, Conflict) as exc:
        return _list_page(page, session, form=form, error=page.error(exc), status=exc.status_code)
    page.flash(page._("The bank %(name)s was created.", name=bank.name))
    return page.redirect(f"/console/banks/{bank.name}")


# ------------------------------------------------------------------ one bank


def _bank_refused(
    page: Page, session: UnitOfWork, name: str, exc: InvalidInput | Busy, form: str
) -> Response:
    """The bank page again, the refusal shown at the form it concerns (``form``: settings,
    quarantine, upload, import), answered with the refusal's status."""
    return _bank_page(
        page, session, name, error=page.error(exc), error_field=form, status=exc.status_code
    )


def _bank_page(
    page: Page,
    session: UnitOfWork,
    name: str,
    *,
    after: int = 0,
    added: dict[str, Any] | None = None,
    error: str | None = None,
    error_field: str | None = None,
    status: int = 200,
) -> Response:
    p = page.principal
    assert p is not None
    bank = banks.get_bank(session, p, name)  # 404 for another platform's private bank
    counts = banks.bank_stats(session, [bank.id]).get(bank.id, {})
    owners = queries.org_names(session, {bank.owner_org_id})
    rows = list_content(session, p, bank.name, after=after, limit=PAGE_SIZE + 1)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    can_write = bank.owner_org_id == p.org_id and p.role in banks.WRITE_ROLES
    # the owner's review queue (the service refuses anyone else, so it is read for the owner
    # only); None hides the section
    held = _held_rows(page, quarantine.queue(session, p, bank.name)) if can_write else None
    return page.render(
        "bank_detail.html",
        {
            "b": _bank_row(bank, counts, owners, p.org_id),
            "threshold_fields": _threshold_fields(),
            "content": [{**content_dict(c), "short": short_signal(c.signal)} for c in rows],
            "after": after,
            "next_after": rows[-1].id if more and rows else None,
            "can_write": can_write,
            "held": held,
            "held_ids": {h["content_id"] for h in held or ()},
            "window": page.fmt.period(quarantine.rule().window),
            # the verdicts of every organisation that matched it, for the owner only
            # (tangkal.hashing.feedback says who sees what), most rejected first
            "feedback": feedback.bank_feedback(session, p, bank.name, limit=PAGE_SIZE)
            if bank.owner_org_id == p.org_id
            else None,
            "review_orgs": feedback.REVIEW_ORGS,
            "formats": exchange.FORMATS,
            "added": added,
            "error": error,
            "error_field": error_field,
        },
        status=status,
    )


@router.get("/banks/{name}")
def bank_detail(
    name: str, page: ConsolePage, session: UnitOfWork, after: int = Query(0, ge=0, le=2**63 - 1)
) -> Response:
    _users(page)
    return _bank_page(page, session, name, after=after)


@router.post("/banks/{name}/settings")
async def bank_settings(
    name: str,
    page: ConsolePage,
    session: UnitOfWork,
    enabled: str = Form(""),
    allowlist: str = Form(""),
    shared: str = Form(""),
    description: str = Form("", max_length=5000),
    csrf_token: str = Form(""),
) -> Response:
    """The owner's switches: enabled, shared, allow-list, a threshold per type."""
    page.check_csrf(csrf_token)
    p = _users(page)
    try:
        thresholds = _thresholds(await _typed_thresholds(page))
        with session.begin_nested():
            bank = banks.update_bank(
                session,
                p,
                name,
                enabled=enabled == "on",
                allowlist=allowlist == "on",
                shared=shared == "on",
                description=description.strip(),
                thresholds=thresholds,
            )
    except InvalidInput as exc:
        return _bank_refused(page, session, name, exc, "settings")
    page.flash(page._("The settings of %(name)s were saved.", name=bank.name))
    return page.redirect(f"/console/banks/{bank.name}")


@router.post("/banks/{name}/enabled")
def bank_enabled(
    name: str,
    page: ConsolePage,
    session: UnitOfWork,
    enabled: str = Form(""),
    csrf_token: str = Form(""),
) -> Response:
    """The one-click switch on the list: a disabled bank is kept but not matched."""
    page.check_csrf(csrf_token)
    p = _users(page)
    bank = banks.update_bank(session, p, name, enabled=enabled == "on")
    page.flash(
        page._("%(name)s is now enabled.", name=bank.name)
        if bank.enabled
        else page._("%(name)s is now disabled; it is not matched.", name=bank.name)
    )
    return page.redirect("/console/banks")


@router.post("/banks/{name}/content/{content_id}/remove")
def bank_remove(
    name: str, content_id: int, page: ConsolePage, session: UnitOfWork, csrf_token: str = Form("")
) -> Response:
    page.check_csrf(csrf_token)
    p = _users(page)
    remove_content(session, p, name, content_id)
    page.flash(page._("Item %(id)s was removed from the bank.", id=content_id))
    return page.redirect(f"/console/banks/{name.strip().lower()}")


# ------------------------------------------------------------------ the quarantine


def _held_rows(page: Page, held: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Held contents as :mod:`tangkal.hashing.quarantine` describes them (its queue, or the
    ``held`` of a lookup), with the rule's reason in the reader's language (the dicts carry
    it in English, as the API says it) and the signal shortened as the bank page shows it."""
    r_ = quarantine.rule()
    out = []
    for h in held:
        at = as_datetime(h["held_at"])
        assert at is not None
        hold = quarantine.Hold(at, h["recent"], h["baseline"], h["limit"])
        out.append(
            {
                **h,
                "held_at": at,
                "reason": page.fmt.message(hold.reason(r_)),
                "short": short_signal(h["signal"]),
            }
        )
    return out


def _baseline(raw: str) -> float | None:
    """The release form's optional baseline: blank for the service's default."""
    v = raw.strip().replace(",", ".")
    if not v:
        return None
    try:
        value = float(v)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0 <= value <= 1e9:
        raise InvalidInput(
            Msg("The baseline is a number of matches per window, e.g. 60, or blank."),
            field="baseline",
        )
    return value


@router.post("/banks/{name}/quarantine/{content_id}/release")
def bank_release_held(
    name: str,
    content_id: HeldId,
    page: ConsolePage,
    session: UnitOfWork,
    baseline: str = Form("", max_length=30),
    csrf_token: str = Form(""),
) -> Response:
    """The owner vouches for a held content: it matches again (the API's release)."""
    page.check_csrf(csrf_token)
    p = _users(page)
    try:
        with session.begin_nested():
            done = quarantine.release(session, p, name, content_id, baseline=_baseline(baseline))
    except InvalidInput as exc:
        return _bank_refused(page, session, name, exc, "quarantine")
    page.flash(
        page._(
            "Item %(id)s was released: it matches again, with a baseline of %(baseline)s "
            "matches per %(window)s.",
            id=content_id,
            baseline=page.fmt.number(done["baseline"]),
            window=page.fmt.period(quarantine.rule().window),
        )
    )
    return page.redirect(f"/console/banks/{name.strip().lower()}#quarantine")


@router.post("/banks/{name}/quarantine/{content_id}/delete")
def bank_delete_held(
    name: str,
    content_id: HeldId,
    page: ConsolePage,
    session: UnitOfWork,
    csrf_token: str = Form(""),
) -> Response:
    """The owner agrees a held content is bad: it leaves the bank (the API's DELETE)."""
    page.check_csrf(csrf_token)
    p = _users(page)
    quarantine.remove_held(session, p, name, content_id)
    page.flash(page._("Item %(id)s was removed from the bank.", id=content_id))
    return page.redirect(f"/console/banks/{name.strip().lower()}#quarantine")


@router.post("/banks/{name}/upload")
async def bank_upload(
    name: str,
    page: ConsolePage,
    session: UnitOfWork,
    file: UploadFile | None = File(None),
    label: str = Form("", max_length=300),
    text: str = Form(""),
    csrf_token: str = Form(""),
) -> Response:
    """Hash a file into the bank, and show what was hashed and why a type was not."""
    page.check_csrf(csrf_token)
    p = _users(page)
    try:
        content = await _read(file, page.settings.max_upload_bytes)
        banks.get_bank(session, p, name, write=True)  # refused before hashing
        hashed = await hash_upload(
            page.request.app.state,
            content,
            lambda: hash_content(content, text=text == "on"),
            text=text == "on",
        )
        with session.begin_nested():
            result = add_file(
                session,
                p,
                name,
                content,
                label=label.strip() or None,
                filename=file.filename if file else None,
                text=text == "on",
                results=hashed,
            )
    except (InvalidInput, Busy) as exc:
        return _bank_refused(page, session, name, exc, "upload")
    added = {
        "filename": file.filename if file else "",
        "signals": [{"signal_type": c.signal_type, "signal": c.signal} for c in result.added],
        "duplicates": result.duplicates,
        "not_hashed": [
            {"signal_type": r.signal_type, "reason": _why(page, r)} for r in result.not_hashed
        ],
    }
    return _bank_page(page, session, name, added=added, status=201 if result.added else 200)


@router.post("/banks/{name}/import")
async def bank_import(
    name: str,
    page: ConsolePage,
    session: UnitOfWork,
    file: UploadFile | None = File(None),
    format: str = Form("te", max_length=10),
    csrf_token: str = Form(""),
) -> Response:
    """Bulk import: a file with one bad row is refused whole, and every bad row is named."""
    page.check_csrf(csrf_token)
    p = _users(page)
    try:
        content = await _read(file, page.settings.max_upload_bytes)
        with session.begin_nested():
            r = exchange.import_into(session, p, name, content, format)
    except InvalidInput as exc:
        return _bank_refused(page, session, name, exc, "import")
    page.flash(
        page._(
            "Imported: %(added)s added, %(dup)s already there, %(removed)s removed.",
            added=page.fmt.number(r.added),
            dup=page.fmt.number(r.duplicates),
            removed=page.fmt.number(r.removed),
        )
    )
    return page.redirect(f"/console/banks/{name.strip().lower()}")


@router.get("/banks/{name}/export")
def bank_export(
    name: str, page: ConsolePage, session: UnitOfWork, format: str = Query("te", max_length=10)
) -> Response:
    """The API's export, with the console session instead of a Bearer token."""
    p = _users(page)
    fmt = exchange.get_format(format)  # the format table names media type and extension
    # Read inside the unit of work (the session closes when the route returns); the first
    # chunk raises NotFound before any byte is sent for a bank the caller cannot see.
    chunks = list(exchange.export(session, p, name, fmt.name))
    return StreamingResponse(
        iter(chunks),
        media_type=fmt.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{fmt.filename(name)}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


# ------------------------------------------------------------------ matching


def _match_page(
    page: Page,
    *,
    result: dict[str, Any] | None = None,
    error: str | None = None,
    message: str = "",
    status: int = 200,
) -> Response:
    return page.render(
        "match.html", {"result": result, "error": error, "message": message}, status=status
    )


@router.get("/match")
def match_form(page: ConsolePage) -> Response:
    _users(page)
    return _match_page(page)


def _present(
    page: Page,
    session: UnitOfWork,
    matches: list[dict[str, Any]],
    queries_: list[matching.Query],
    not_hashed: list[dict[str, Any]],
    source: str,
    held: list[dict[str, Any]],
) -> dict[str, Any]:
    p = page.principal
    assert p is not None
    # visible to the caller: the lookup found them in its own banks or shared ones
    held_banks = {n: banks.get_bank(session, p, n) for n in sorted({h["bank"] for h in held})}
    held_owners = queries.org_names(session, {b.owner_org_id for b in held_banks.values()})
    refs = queries.visible_order_refs(
        session, p, {m["order_id"] for m in matches if m.get("order_id")}
    )
    owners = queries.org_names(session, {m["provenance"]["owner_org_id"] for m in matches})
    rows = []
    for m in matches:
        c = closeness(m["signal_type"], m["distance"])
        rows.append(
            {
                **m,
                "closeness": c,
                "order_ref": refs.get(m["order_id"] or ""),
                "owner": owners.get(m["provenance"]["owner_org_id"], "?"),
                "short": short_signal(m["signal"]),
            }
        )
    return {
        "source": source,
        "matches": rows,
        "signals": [
            {"signal_type": q.signal_type, "signal": q.signal, "short": short_signal(q.signal)}
            for q in queries_
        ],
        "not_hashed": not_hashed,
        "active": [r for r in rows if not r["suppressed_by_allowlist"]],
        "held": [
            {
                **h,
                "owner": held_owners.get(held_banks[h["bank"]].owner_org_id, "?"),
                # the caller's own bank: a link to its review queue
                "own": held_banks[h["bank"]].owner_org_id == p.org_id
                and p.role in banks.WRITE_ROLES,
            }
            for h in _held_rows(page, held)
        ],
    }


@router.post("/match")
async def match_submit(
    page: ConsolePage,
    session: UnitOfWork,
    file: UploadFile | None = File(None),
    message: str = Form("", max_length=MAX_TEXT),
    text: str = Form(""),
    csrf_token: str = Form(""),
) -> Response:
    """Hash the upload (or the pasted message) and show every match in the visible banks."""
    page.check_csrf(csrf_token)
    p = _users(page)
    upload: bytes | None = None
    try:
        if file is not None and file.filename:
            content = upload = await _read(file, page.settings.max_upload_bytes)
            results = await hash_upload(
                page.request.app.state,
                content,
                lambda: hash_content(content, text=text == "on"),
                text=text == "on",
            )
            source = file.filename
        elif message.strip():
            results = hash_content(message.encode(), text=True, files=False)
            source = ""
        else:
            raise InvalidInput(Msg("Choose a file, or paste a message, to match."), field="file")
    except (InvalidInput, Busy) as exc:
        return _match_page(page, error=page.error(exc), message=message, status=exc.status_code)
    queries_ = [matching.Query(r.signal_type, r.signal) for r in results if r.signal]
    not_hashed = [
        {"signal_type": r.signal_type, "reason": _why(page, r)} for r in results if r.signal is None
    ]
    held: list[dict[str, Any]] = []  # held for review: shown apart, never as matches
    found = matching.match(session, p, _indexes(page), queries_, held=held) if queries_ else []
    via = FindVia.CONSOLE_TEXT if upload is None else FindVia.CONSOLE_FILE
    evidence.note_order_matches(session, p, found, via=via, upload=upload)
    return _match_page(
        page,
        message=message,
        result=_present(page, session, found, queries_, not_hashed, source, held),
    )


@router.post("/match/feedback")
def match_feedback(
    page: ConsolePage,
    session: UnitOfWork,
    content_id: int = Form(..., ge=1),
    verdict: str = Form("", max_length=20),
    query_signal: str = Form("", max_length=1024),
    csrf_token: str = Form(""),
) -> Response:
    """Confirmed / false positive on one match; htmx swaps the buttons for the answer."""
    page.check_csrf(csrf_token)
    p = _users(page)
    fb = feedback.give_feedback(session, p, content_id, verdict, query_signal=query_signal or None)
    if page.request.headers.get("hx-request") == "true":
        return page.render("match_feedback.html", {"verdict": fb.verdict})
    page.flash(page._("Thank you: your feedback was recorded."))
    return page.redirect("/console/match")


# ------------------------------------------------------------------ order evidence


@router.post("/orders/{order_id}/evidence/{evidence_id}/bank")
def evidence_to_bank(
    order_id: str,
    evidence_id: str,
    page: ConsolePage,
    session: UnitOfWork,
    bank: str = Form("", max_length=100),
    csrf_token: str = Form(""),
) -> Response:
    """Put one evidence file of an order into one of the regulator's banks; orders whose
    banked content matches it become related orders."""
    page.check_csrf(csrf_token)
    assert page.principal is not None
    if not bank.strip():
        raise InvalidInput(Msg("Choose the bank to put the evidence into."), field="bank")
    out = evidence.bank_order_evidence(
        session, page.principal, _indexes(page), order_id, evidence_id, bank
    )
    reasons = "; ".join(f"{r.signal_type}: {_why(page, r)}" for r in out.not_hashed)
    text = page._(
        "%(n)s signal(s) added to %(bank)s, %(dup)s already there.",
        n=len(out.added),
        bank=bank.strip().lower(),
        dup=out.duplicates,
    )
    if out.linked_orders:
        text += " " + page._(
            "Linked to %(n)s earlier order(s) with the same content.", n=len(out.linked_orders)
        )
    if reasons:
        text += " " + page._("Not hashed: %(reasons)s", reasons=reasons)
    page.flash(text)
    return page.redirect(f"/console/orders/{order_id}")
