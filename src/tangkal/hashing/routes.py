"""HTTP routes for hash banks and matching."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, StrictBool

from tangkal.api.deps import CurrentPrincipal, UnitOfWork
from tangkal.api.openapi import choices
from tangkal.errors import InvalidInput, Msg, TooLarge
from tangkal.hashing import banks, evidence, exchange, matching, signals
from tangkal.hashing import content as bank_content
from tangkal.hashing import responses as shapes
from tangkal.hashing.budget import hash_upload
from tangkal.hashing.feedback import give_feedback
from tangkal.hashing.matcher import BankIndexes, indexes_for
from tangkal.hashing.models import BankKind, FindVia
from tangkal.settings import get_settings

router = APIRouter(prefix="/api/v1", tags=["hash banks"])


def _indexes(request: Request) -> BankIndexes:
    settings = request.app.state.settings
    return indexes_for(request.app.state.db, settings.data_dir)


async def _read_upload(file: UploadFile) -> bytes:
    limit = get_settings().max_upload_bytes
    content = await file.read(limit + 1)
    if len(content) > limit:
        raise TooLarge(
            Msg("The upload is larger than the limit of %(limit)s bytes.", limit=limit),
            field="file",
        )
    if not content:
        raise InvalidInput(Msg("The upload is empty: attach the file itself."), field="file")
    return content


def _not_a_boolean(value: Any) -> Any:
    """JSON's ``true`` is not the threshold 1: pydantic's lax integers would take it as one,
    so a client's mistake would silently become a bank that matches almost nothing. ``16.0``
    is the whole number 16, to JSON Schema as to JSON (the document's ``integer`` takes it,
    and a client's JSON library may write it so): taken as 16 before the strict check."""
    if isinstance(value, bool):
        raise ValueError("a threshold is a whole number, not true or false")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Threshold = Annotated[int, Strict(), BeforeValidator(_not_a_boolean)]
"""A whole number as JSON writes one: not ``true``, and not ``"80"`` either (the document says
integer, so a string is refused rather than read as one)."""


NamedThresholds = Annotated[dict[str, Threshold], Field(min_length=1)]
"""Some of a type's thresholds by name (``{"banked_share": 50}``)."""

ThresholdsIn = dict[str, Threshold | NamedThresholds]
"""Per signal type its first threshold as a number, or any of its thresholds by name; checked
against the type's rules by :func:`tangkal.hashing.banks.create_bank` and ``update_bank``."""


def _type_thresholds(st: signals.SignalType) -> dict[str, Any]:
    """One type's entry in the document's ``thresholds``: the number (its first threshold) or
    the object of its thresholds by name, each with its range, default and meaning."""
    first = st.rules[0]
    return {
        "anyOf": [
            {
                "type": "integer",
                "minimum": first.min,
                "maximum": first.max,
                "description": f"{first.name}: {first.meaning.text}",
            },
            {
                "type": "object",
                "properties": {
                    r.name: {
                        "type": "integer",
                        "minimum": r.min,
                        "maximum": r.max,
                        "default": r.default,
                        "description": r.meaning.text,
                    }
                    for r in st.rules
                },
                "additionalProperties": False,
                "minProperties": 1,
            },
        ]
    }


def _thresholds_rule(schema: dict[str, Any]) -> None:
    """The document's ``thresholds``: each tunable type's thresholds, by name or its first as a
    number, with their ranges, read from the registry when the document is made (so a type
    added or retuned is said too)."""
    schema["anyOf"] = [
        {
            "type": "object",
            "properties": {st.name: _type_thresholds(st) for st in banks.tunable_types()},
            "additionalProperties": False,
        },
        {"type": "null"},
    ]


def _field_range(field: str) -> Any:
    def extra(schema: dict[str, Any]) -> None:
        rule = signals.get(banks.threshold_fields()[field]).rules[0]
        schema["anyOf"] = [
            {"type": "integer", "minimum": rule.min, "maximum": rule.max},
            {"type": "null"},
        ]

    return extra


#: What :func:`tangkal.hashing.banks.check_bank_name` accepts, for the document (the check
#: itself, with its message, stays there).
BANK_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{1,99}$"


class _BankThresholds(BaseModel):
    """The threshold members a new bank and a changed bank share."""

    model_config = ConfigDict(extra="forbid")
    # the historic per-type fields, views of ``thresholds`` (which takes any signal type)
    pdq_threshold: Threshold | None = Field(
        default=None, json_schema_extra=_field_range("pdq_threshold")
    )
    text_threshold: Threshold | None = Field(
        default=None, json_schema_extra=_field_range("text_threshold")
    )
    thresholds: ThresholdsIn | None = Field(
        default=None,
        description="per signal type, its first threshold as a number or any of its "
        "thresholds by name (vPDQ: query_share, banked_share, frame_distance); a threshold "
        "not given keeps its value (a new bank: the type's default)",
        json_schema_extra=_thresholds_rule,
    )


class BankIn(_BankThresholds):
    name: str = Field(
        min_length=1,
        max_length=100,
        description="2 to 100 characters of a-z, 0-9, '.', '_' or '-' (kept in lower case)",
        json_schema_extra={"pattern": BANK_NAME_PATTERN},
    )
    description: str | None = Field(default=None, max_length=5000)
    kind: str = Field(default="own", json_schema_extra=choices(BankKind))
    source: str | None = Field(default=None, max_length=200)
    # strict: JSON's 0 or "yes" is not a yes or no (pydantic's lax booleans would take them)
    shared: StrictBool | None = None
    allowlist: StrictBool = False


class BankPatch(_BankThresholds):
    enabled: StrictBool | None = None
    allowlist: StrictBool | None = None
    shared: StrictBool | None = None
    description: str | None = Field(default=None, max_length=5000)


class SignalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    signal_type: str = Field(min_length=1, max_length=32)
    signal: str = Field(min_length=1, max_length=1_000_000)  # a vPDQ video: ~80 characters a frame
    label: str | None = Field(default=None, max_length=300)


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    verdict: str = Field(json_schema_extra=choices(("confirmed", "false_positive")))
    query_signal: str | None = Field(default=None, max_length=1_000_000)
    note: str | None = Field(default=None, max_length=5000)


@router.post(
    "/banks", status_code=201, response_model=shapes.BankOut, response_model_exclude_unset=True
)
def create_bank(body: BankIn, principal: CurrentPrincipal, session: UnitOfWork) -> dict[str, Any]:
    bank = banks.create_bank(session, principal, **body.model_dump())
    return banks.bank_dict(bank)


@router.get("/banks", response_model=shapes.BankList, response_model_exclude_unset=True)
def list_banks(principal: CurrentPrincipal, session: UnitOfWork) -> dict[str, Any]:
    visible = banks.visible_banks(session, principal)
    counts = banks.bank_stats(session, [b.id for b in visible])
    return {"banks": [banks.bank_dict(b, counts.get(b.id)) for b in visible]}


@router.get("/banks/{name}", response_model=shapes.BankOut, response_model_exclude_unset=True)
def get_bank(name: str, principal: CurrentPrincipal, session: UnitOfWork) -> dict[str, Any]:
    bank = banks.get_bank(session, principal, name)
    return banks.bank_dict(bank, banks.bank_stats(session, [bank.id]).get(bank.id))


@router.patch("/banks/{name}", response_model=shapes.BankOut, response_model_exclude_unset=True)
def update_bank(
    name: str, body: BankPatch, principal: CurrentPrincipal, session: UnitOfWork
) -> dict[str, Any]:
    bank = banks.update_bank(session, principal, name, **body.model_dump())
    return banks.bank_dict(bank)


@router.post(
    "/banks/{name}/content",
    status_code=201,
    response_model=shapes.ContentAdded,
    response_model_exclude_unset=True,
)
async def add_content(
    name: str, request: Request, principal: CurrentPrincipal, session: UnitOfWork
) -> dict[str, Any]:
    """Multipart ``file`` (hashed with every applicable signal type; ``text=true`` to hash a
    text file as a message too), or JSON ``{signal_type, signal, label}``."""
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile) and not hasattr(upload, "read"):
            raise InvalidInput(
                Msg("Send the file in a multipart field named 'file'."), field="file"
            )
        content = await _read_upload(upload)  # type: ignore[arg-type]
        label = form.get("label")
        as_text = str(form.get("text", "")).lower() in ("1", "true")
        banks.get_bank(session, principal, name, write=True)  # refused before hashing
        hashed = await hash_upload(
            request.app.state,
            content,
            lambda: bank_content.hash_content(content, text=as_text),
            text=as_text,
        )
        result = bank_content.add_file(
            session,
            principal,
            name,
            content,
            label=label if isinstance(label, str) else None,
            filename=getattr(upload, "filename", None),
            text=as_text,
            results=hashed,
        )
    elif ctype.startswith("application/json"):
        try:
            body = SignalIn.model_validate(await request.json())
        except ValueError as exc:
            raise InvalidInput(
                Msg("Send JSON {signal_type, signal}: %(detail)s", detail=str(exc).splitlines()[0]),
                field="body",
            ) from None
        result = bank_content.add_signal(
            session, principal, name, body.signal_type, body.signal, label=body.label
        )
    else:
        raise InvalidInput(
            Msg("Send multipart/form-data with a 'file', or JSON {signal_type, signal}."),
            field="body",
        )
    return {
        "added": [bank_content.content_dict(c) for c in result.added],
        "duplicates": result.duplicates,
        "not_hashed": [
            {"signal_type": r.signal_type, "reason": r.reason} for r in result.not_hashed
        ],
    }


@router.get(
    "/banks/{name}/content", response_model=shapes.ContentPage, response_model_exclude_unset=True
)
def list_content(
    name: str,
    principal: CurrentPrincipal,
    session: UnitOfWork,
    after: int = Query(0, ge=0, le=2**63 - 1),
    limit: int = Query(1000, ge=1, le=10000),
) -> dict[str, Any]:
    rows = bank_content.list_content(session, principal, name, after=after, limit=limit)
    return {
        "content": [bank_content.content_dict(c) for c in rows],
        "next_after": rows[-1].id if rows else None,
    }


@router.delete(
    "/banks/{name}/content/{content_id}",
    response_model=shapes.ContentRemoved,
    response_model_exclude_unset=True,
)
def remove_content(
    name: str, content_id: int, principal: CurrentPrincipal, session: UnitOfWork
) -> dict[str, Any]:
    bank_content.remove_content(session, principal, name, content_id)
    return {"removed": content_id}


def _match_answer(
    session: UnitOfWork,
    principal: CurrentPrincipal,
    idx: BankIndexes,
    queries: list[matching.Query],
    not_hashed: list[Any],
    *,
    via: FindVia,
    upload: bytes | None = None,
) -> dict[str, Any]:
    held: list[dict[str, Any]] = []
    matches = matching.match(session, principal, idx, queries, held=held)
    evidence.note_order_matches(session, principal, matches, via=via, upload=upload)
    return {
        "matches": matches,
        "signals": [{"signal_type": q.signal_type, "signal": q.signal} for q in queries],
        "not_hashed": not_hashed,
        "held": held,
    }


@router.post("/match", response_model=shapes.MatchAnswer, response_model_exclude_unset=True)
async def match_file(
    request: Request,
    principal: CurrentPrincipal,
    session: UnitOfWork,
    file: Annotated[UploadFile, File()],
    text: Annotated[bool, Form()] = False,
) -> dict[str, Any]:
    content = await _read_upload(file)
    queries, failed = await hash_upload(
        request.app.state,
        content,
        lambda: matching.queries_for_upload(content, text=text),
        text=text,
    )
    not_hashed = [{"signal_type": r.signal_type, "reason": r.reason} for r in failed]
    return _match_answer(
        session,
        principal,
        _indexes(request),
        queries,
        not_hashed,
        via=FindVia.API_FILE,
        upload=content,
    )


@router.get("/match", response_model=shapes.MatchAnswer, response_model_exclude_unset=True)
def match_signal(
    request: Request,
    principal: CurrentPrincipal,
    session: UnitOfWork,
    signal_type: str,
    signal: str,
) -> dict[str, Any]:
    queries = matching.queries_for_signal(signal_type, signal)
    return _match_answer(session, principal, _indexes(request), queries, [], via=FindVia.API_SIGNAL)


@router.post(
    "/match/{content_id}/feedback",
    status_code=201,
    response_model=shapes.FeedbackOut,
    response_model_exclude_unset=True,
)
def feedback(
    content_id: int, body: FeedbackIn, principal: CurrentPrincipal, session: UnitOfWork
) -> dict[str, Any]:
    fb = give_feedback(
        session, principal, content_id, body.verdict, query_signal=body.query_signal, note=body.note
    )
    return {"id": fb.id, "content_id": content_id, "verdict": fb.verdict}


class BankEvidenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bank: str = Field(min_length=1, max_length=100)


@router.post(
    "/orders/{order_id}/evidence/{evidence_id}/bank",
    status_code=201,
    response_model=shapes.EvidenceBankedOut,
    response_model_exclude_unset=True,
)
def bank_evidence(
    order_id: str,
    evidence_id: str,
    body: BankEvidenceIn,
    request: Request,
    principal: CurrentPrincipal,
    session: UnitOfWork,
) -> dict[str, Any]:
    """Put an order's evidence in a bank; earlier orders with matching content are linked."""
    return evidence.bank_order_evidence(
        session, principal, _indexes(request), order_id, evidence_id, body.bank
    ).as_dict()


@router.get("/hashing/stats", response_model=shapes.IndexStats, response_model_exclude_unset=True)
def stats(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    return _indexes(request).stats()


class TextIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=100_000)


@router.post("/match/text", response_model=shapes.MatchAnswer, response_model_exclude_unset=True)
def match_text(
    body: TextIn, request: Request, principal: CurrentPrincipal, session: UnitOfWork
) -> dict[str, Any]:
    """Match a message (exact after normalisation, and near-duplicates) against the banks."""
    results = bank_content.hash_content(body.text.encode(), text=True, files=False)
    queries = [matching.Query(r.signal_type, r.signal) for r in results if r.signal]
    not_hashed = [
        {"signal_type": r.signal_type, "reason": r.reason} for r in results if r.signal is None
    ]
    return _match_answer(
        session, principal, _indexes(request), queries, not_hashed, via=FindVia.API_TEXT
    )


@router.post(
    "/banks/{name}/import", response_model=shapes.ImportDone, response_model_exclude_unset=True
)
async def import_bank(
    name: str,
    principal: CurrentPrincipal,
    session: UnitOfWork,
    file: Annotated[UploadFile, File()],
    format: Annotated[str, Form(max_length=10, json_schema_extra=choices(exchange.FORMATS))] = "te",
    skip_unsupported: Annotated[bool, Form()] = False,
) -> dict[str, Any]:
    """Bulk import (te, csv or tat): a file with any bad row, or with a row of a signal type
    tangkal does not have, is refused whole; ``skip_unsupported=true`` imports the rest and
    says what it left (``skipped``: rows per type, first lines)."""
    content = await _read_upload(file)
    r = exchange.import_into(
        session, principal, name, content, format, skip_unsupported=skip_unsupported
    )
    return r.as_dict()


#: An export's body per media type, where it is not plain text: TAT's JSON is one page of
#: TAT's v2 list holding the whole bank (``exchange._write_tat``).
_EXPORT_SCHEMAS: dict[str, dict[str, Any]] = {
    "application/json": {
        "type": "object",
        "required": ["count", "next", "previous", "results", "checkpoint"],
        "properties": {
            "count": {"type": "integer", "minimum": 0},
            "next": {"type": "null"},
            "previous": {"type": "null"},
            "results": {"type": "array", "items": {"type": "object"}},
            "checkpoint": {"type": "string"},
        },
    }
}


@router.get(
    "/banks/{name}/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The bank's signals, as a file of the format asked for",
            "content": {
                f.media_type: {"schema": _EXPORT_SCHEMAS.get(f.media_type, {"type": "string"})}
                for f in exchange.FORMATS.values()
            },
        }
    },
)
def export_bank(
    name: str,
    principal: CurrentPrincipal,
    session: UnitOfWork,
    format: Annotated[
        str, Query(max_length=10, json_schema_extra=choices(exchange.FORMATS))
    ] = "te",
) -> StreamingResponse:
    """A bank in an exchange format (``te``, ``csv``, ``tat``), signal types named as
    threatexchange and HMA name them."""
    fmt = exchange.get_format(format)
    chunks = list(exchange.export(session, principal, name, fmt.name))
    return StreamingResponse(
        iter(chunks),
        media_type=fmt.media_type,
        headers={"Content-Disposition": f'attachment; filename="{fmt.filename(name)}"'},
    )
