"""HMA-compatible API: Hasher-Matcher-Actioner 2.x's matching, curation and hashing endpoints.

Platforms that run Meta's HMA, or ROOST's Coop with its HMA integration, talk to a base URL
and HMA's own paths: ``/m/raw_lookup``, ``/m/lookup``, ``/m/index/status`` (matching),
``/c/banks``, ``/c/bank/<name>``, ``/c/bank/<name>/content``, ``/c/bank/<name>/signal``,
``/c/signal_type`` (curation) and ``/h/hash`` (hashing). They are served here at those same
paths, beside ``/api/v1``, so such a client works unchanged when its base URL is tangkal's
and it sends a tangkal token (``Authorization: Bearer``). The request and response shapes
are HMA's (read from facebook/ThreatExchange's ``hasher-matcher-actioner``; this is tangkal's
own code); what happens is tangkal's, through the bank, content and matching modules:

* Authorisation and tenancy are the native API's: a caller sees shared banks and its own
  organisation's, adds content only to its own, with the same roles.
* Signal types are named as threatexchange and HMA name them (``pdq``, ``video_md5``,
  ``video_sha256``: :attr:`SignalType.te_name`); tangkal's own names are accepted too.
* Bank names: HMA's are upper case (``[A-Z0-9_]+``), tangkal's lower case; a name is shown
  upper-cased and looked up case-insensitively, so ``MY_BANK`` created through HMA's call is
  ``my_bank`` in tangkal and ``MY_BANK`` to the HMA client.
* One HMA content item holds a file's signals under one id; tangkal holds a row per signal.
  Adding a file answers the id of its first signal's row; a lookup answers the matched rows'
  ids (so a PDQ and an MD5 match of the same file are two ids).
* A match follows each bank's own threshold, enabled banks only. Allow-list banks vouch for
  content instead of flagging it, so neither their matches nor the matches they suppress are
  reported here (HMA has no such notion; a client would act on them).
* HMA's ``matching_enabled_ratio`` is a fraction of lookups; a tangkal bank is on or off, so
  only 0 and 1 are accepted.
* Lookup, banking and hashing *by URL* are refused: tangkal never fetches an address a
  caller gives it (it could be an internal one). Hash the file yourself and send the signal,
  or upload the file.
* Refusals have HMA's ``message`` (and tangkal's ``error`` and ``field``); bad input is 422,
  where HMA answers 400, and an existing bank name 409, where HMA answers 403.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.datastructures import UploadFile
from pydantic import BaseModel, ConfigDict, Field, RootModel, StrictBool, StringConstraints
from sqlalchemy import select

from tangkal import text
from tangkal.accounts.principal import Principal
from tangkal.api.deps import CurrentPrincipal, UnitOfWork
from tangkal.api.openapi import choices_later, json_body, parse_json_body
from tangkal.errors import InvalidInput, Msg, NotFound
from tangkal.hashing import banks, evidence, matching, signals
from tangkal.hashing.budget import hash_upload
from tangkal.hashing.content import add_file, add_signal, hash_content, list_content, remove_content
from tangkal.hashing.matcher import BankIndexes, indexes_for
from tangkal.hashing.models import Bank, BankContent, FindVia
from tangkal.hashing.routes import BANK_NAME_PATTERN, _read_upload

router = APIRouter(tags=["HMA-compatible"])

BankName = Annotated[str, Path(max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
"""A bank in a path: HMA's upper-case names and tangkal's lower-case ones."""
ContentId = Annotated[int, Path(ge=1, le=2**63 - 1)]

NO_URL = Msg(
    "tangkal does not fetch content from a URL it is given (it could be an internal "
    "address): hash the content yourself and send signal_type and signal, or upload the file."
)


# ------------------------------------------------------------------------ shapes


class BankConfig(BaseModel):
    """HMA's bank: its name and the share of lookups it takes part in."""

    name: str
    matching_enabled_ratio: float


def _signal_type_names() -> list[str]:
    """Every name :func:`tangkal.hashing.signals.get` takes for a type (its own and its
    aliases, the exchange names among them; not TAT's algorithm names, which only a TAT file
    uses), for the document; read when it is made, so a type registered at start is listed."""
    out: list[str] = []
    for st in signals.REGISTRY:
        out += [st.name, st.te_name, *st.aliases]
    return out


#: A signal type, in a query: one of :func:`_signal_type_names` (the route's own check names them).
_SIGNAL_TYPE = choices_later(_signal_type_names)


def _ratio_rule(schema: dict[str, Any]) -> None:
    """The document's ``enabled_ratio``: 0 or 1 (a tangkal bank matches every lookup or
    none), on the number branch so that null stays allowed."""
    for branch in schema.get("anyOf", ()):
        if branch.get("type") == "number":
            branch["enum"] = [0, 1]


class BankCreateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(
        min_length=1, max_length=100, json_schema_extra={"pattern": BANK_NAME_PATTERN}
    )
    enabled_ratio: float | None = Field(None, ge=0, le=1, json_schema_extra=_ratio_rule)
    enabled: StrictBool | None = None


class BankUpdateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, max_length=100)
    enabled_ratio: float | None = Field(None, ge=0, le=1, json_schema_extra=_ratio_rule)
    enabled: StrictBool | None = None


class SignalsIn(
    RootModel[
        dict[
            Annotated[str, StringConstraints(min_length=1, max_length=32)],
            Annotated[str, StringConstraints(max_length=10000)],
        ]
    ]
):
    """HMA's body for banking signals: signal type -> signal, and an optional ``note``."""

    root: dict[
        Annotated[str, StringConstraints(min_length=1, max_length=32)],
        Annotated[str, StringConstraints(max_length=10000)],
    ] = Field(max_length=20)


class CompareIn(
    RootModel[
        dict[
            Annotated[str, StringConstraints(min_length=1, max_length=32)],
            Annotated[list[Annotated[str, StringConstraints(max_length=10000)]], Field()],
        ]
    ]
):
    """HMA's compare body: signal type -> the two signals to compare."""

    root: dict[
        Annotated[str, StringConstraints(min_length=1, max_length=32)],
        Annotated[
            list[Annotated[str, StringConstraints(max_length=10000)]],
            Field(min_length=2, max_length=2),
        ],
    ] = Field(max_length=20)


class Distance(BaseModel):
    """How alike the pair is (threatexchange's similarity info): the type's distance, and the
    other figures its rule looked at, by threatexchange's names (vPDQ's
    ``query_match_percent`` and ``compared_match_percent``)."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, float] = Field(init=False)

    distance: int


class CompareResponse(RootModel[dict[str, tuple[bool, Distance]]]):
    """Per signal type: whether the first signal matches the second by the type's own rule at
    its default thresholds (the rule a bank lookup applies), and how alike they are."""


UPLOAD: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "description": "one file, in a field named after its content type "
                    "(HMA's photo or video; any name is taken)",
                    "properties": {
                        "photo": {"type": "string", "format": "binary"},
                        "video": {"type": "string", "format": "binary"},
                    },
                    "additionalProperties": {"type": "string", "format": "binary"},
                    "minProperties": 1,
                }
            }
        },
    }
}
"""The multipart body HMA's file endpoints read themselves, for the document."""


class MatchWithDistance(BaseModel):
    bank_content_id: int
    distance: str = Field(description="as HMA gives it: the distance as text")


class RawLookupResponse(BaseModel):
    matches: list[int | MatchWithDistance]


class BankMatches(RootModel[dict[str, list[MatchWithDistance]]]):
    """Matches by bank name (HMA's lookup with a signal type)."""


class MatchesByType(RootModel[dict[str, dict[str, list[MatchWithDistance]]]]):
    """Matches by signal type, then bank name (HMA's lookup of an uploaded file)."""


class IndexStatus(BaseModel):
    present: bool
    built_to: int = Field(description="Unix time the index is current to (-1: empty)")
    size: int


class IndexStatusResponse(RootModel[dict[str, IndexStatus]]):
    """Per signal type."""


class SignalsAdded(BaseModel):
    id: int = Field(description="the banked row of the first signal")
    signals: dict[str, str] = Field(description="by signal type")


class ContentOut(BaseModel):
    id: int
    disable_until_ts: int = Field(description="HMA's 'enabled' value (tangkal: always 0)")
    original_media_uri: str | None = None
    bank: BankConfig
    signals: dict[str, str] | None = None
    note: str | None = None


class Deleted(BaseModel):
    deleted: int


class SignalTypeConfig(BaseModel):
    name: str
    enabled_ratio: float


class SignalTypeList(RootModel[list[SignalTypeConfig]]):
    pass


class BankList(RootModel[list[BankConfig]]):
    pass


class HashResponse(RootModel[dict[str, str]]):
    """Signal by signal type."""


# ----------------------------------------------------------------------- helpers


def _bank_out(bank: Bank) -> dict[str, Any]:
    return {"name": bank.name.upper(), "matching_enabled_ratio": 1.0 if bank.enabled else 0.0}


def _enabled(ratio: float | None, enabled: bool | None) -> bool | None:
    """HMA's ratio as tangkal's switch; a fraction has no meaning here and is refused."""
    if ratio is not None:
        if ratio not in (0, 1):
            raise InvalidInput(
                Msg(
                    "A tangkal bank matches every lookup or none: enabled_ratio is 0 or 1, "
                    "not %(ratio)s.",
                    ratio=ratio,
                ),
                field="enabled_ratio",
            )
        return ratio == 1
    return enabled


def _indexes(request: Request) -> BankIndexes:
    return indexes_for(request.app.state.db, request.app.state.settings.data_dir)


def _bank_filter(banks: str | None) -> set[str] | None:
    return {b.strip().lower() for b in banks.split(",") if b.strip()} if banks else None


def _matches(
    session: UnitOfWork,
    principal: Principal,
    request: Request,
    queries: list[matching.Query],
    banks: set[str] | None,
    *,
    upload: bytes | None = None,
) -> list[dict[str, Any]]:
    """tangkal's matches of ``queries`` that an HMA client should act on (``upload``: the
    file they were hashed from, if any, for the order's record of a find)."""
    found = matching.match(session, principal, _indexes(request), queries)
    via = FindVia.HMA_SIGNAL if upload is None else FindVia.HMA_FILE
    evidence.note_order_matches(session, principal, found, via=via, upload=upload)
    return [
        m
        for m in found
        if not m["allowlist"]
        and not m["suppressed_by_allowlist"]
        and (banks is None or m["bank"] in banks)
    ]


def _by_bank(found: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for m in found:
        out.setdefault(m["bank"].upper(), []).append(
            {"bank_content_id": m["content_id"], "distance": str(m["distance"])}
        )
    return out


async def _upload(request: Request) -> bytes:
    """The one file of an HMA multipart upload (HMA names the field after the content type,
    ``photo`` or ``video``; any name is taken)."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise InvalidInput(Msg("Missing multipart/form-data file upload"), field="file")
    form = await request.form()
    files = [v for v in form.values() if isinstance(v, UploadFile) or hasattr(v, "read")]
    if len(files) != 1:
        raise InvalidInput(Msg("Send exactly one file per request."), field="file")
    return await _read_upload(files[0])  # type: ignore[arg-type]


async def _hash(request: Request, content: bytes) -> list[matching.Query]:
    """The file's signals (as HMA's hasher gives them: one per type)."""
    results = await hash_upload(request.app.state, content, lambda: hash_content(content))
    return [matching.Query(r.signal_type, r.signal) for r in results if r.signal]


async def _queries(request: Request, content: bytes) -> list[matching.Query]:
    """The file's query signals: tangkal's, with PDQ's rotated and mirrored variants."""
    queries, _ = await hash_upload(
        request.app.state, content, lambda: matching.queries_for_upload(content)
    )
    return queries


def _named(queries: list[matching.Query]) -> dict[str, str]:
    return {signals.get(q.signal_type).te_name: q.signal for q in queries}


def _note(note: object) -> str | None:
    """HMA's note on banked content (at most 255 characters), kept as the row's label."""
    if note is None or note == "":
        return None
    if not isinstance(note, str) or len(note) > 255 or text.describe(note):
        raise InvalidInput(Msg("note must be text of at most 255 characters"), field="note")
    return note


#: HMA's ``url`` parameter, in the document: accepted only empty, since tangkal never fetches.
_NO_URL: dict[str, Any] = {
    "maxLength": 0,
    "description": "HMA fetches the content at this URL; tangkal never fetches and refuses it "
    "(send the file instead)",
}


def _refuse_url(url: str | None) -> None:
    if url:
        raise InvalidInput(NO_URL, field="url")


# ---------------------------------------------------------------------- matching


@router.get("/m/raw_lookup", response_model=RawLookupResponse)
def raw_lookup(
    request: Request,
    principal: CurrentPrincipal,
    session: UnitOfWork,
    signal_type: Annotated[str, Query(max_length=32, json_schema_extra=_SIGNAL_TYPE)],
    signal: Annotated[str, Query(max_length=10000)],
    banks: Annotated[str | None, Query(max_length=5000)] = None,
    include_distance: bool = False,
) -> dict[str, Any]:
    """Ids of banked content that match a signal (with distances on request)."""
    queries = matching.queries_for_signal(signal_type, signal)
    found = _matches(session, principal, request, queries, _bank_filter(banks))
    if include_distance:
        return {
            "matches": [
                {"bank_content_id": m["content_id"], "distance": str(m["distance"])} for m in found
            ]
        }
    return {"matches": [m["content_id"] for m in found]}


@router.get("/m/lookup", response_model=BankMatches)
def lookup(
    request: Request,
    principal: CurrentPrincipal,
    session: UnitOfWork,
    signal_type: Annotated[str | None, Query(max_length=32, json_schema_extra=_SIGNAL_TYPE)] = None,
    signal: Annotated[str | None, Query(max_length=10000)] = None,
    url: Annotated[str | None, Query(max_length=5000, json_schema_extra=_NO_URL)] = None,
    banks: Annotated[str | None, Query(max_length=5000)] = None,
    seed: Annotated[str | None, Query(max_length=200)] = None,
    bypass_coinflip: bool = False,
) -> dict[str, Any]:
    """Matches of a signal by bank. ``seed`` and ``bypass_coinflip`` are accepted for HMA's
    clients and change nothing (a tangkal bank takes every lookup or none)."""
    _refuse_url(url)
    if not signal or not signal_type:
        raise InvalidInput(
            Msg("Either url or both signal and signal_type are required"), field="signal"
        )
    queries = matching.queries_for_signal(signal_type, signal)
    return _by_bank(_matches(session, principal, request, queries, _bank_filter(banks)))


@router.post("/m/lookup", response_model=MatchesByType, openapi_extra=UPLOAD)
async def lookup_file(
    request: Request,
    principal: CurrentPrincipal,
    session: UnitOfWork,
    banks: Annotated[str | None, Query(max_length=5000)] = None,
) -> dict[str, Any]:
    """Matches of an uploaded file, by signal type then bank."""
    content = await _upload(request)
    queries = await _queries(request, content)
    found = _matches(session, principal, request, queries, _bank_filter(banks), upload=content)
    out: dict[str, Any] = {}
    for q in queries:
        of_type = [m for m in found if m["signal_type"] == q.signal_type]
        out[signals.get(q.signal_type).te_name] = _by_bank(of_type)
    return out


@router.get("/m/index/status", response_model=IndexStatusResponse)
def index_status(
    principal: CurrentPrincipal,
    session: UnitOfWork,
    signal_type: Annotated[str | None, Query(max_length=32, json_schema_extra=_SIGNAL_TYPE)] = None,
) -> dict[str, Any]:
    """Per type, how many signals the caller's visible banks hold. tangkal's index catches up
    with the banks before every lookup, so it is current to now."""
    visible = banks.visible_banks(session, principal)
    counts = banks.bank_stats(session, [b.id for b in visible])
    types = [signals.get(signal_type)] if signal_type else list(signals.REGISTRY)
    now = int(time.time())
    out = {}
    for st in types:
        size = sum(c.get(st.name, 0) for c in counts.values())
        out[st.te_name] = {"present": True, "built_to": now if size else -1, "size": size}
    return out


@router.post("/m/compare", response_model=CompareResponse, openapi_extra=json_body(CompareIn))
async def compare(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    """Whether each pair matches, decided by its type's own rule at the type's defaults
    (:meth:`~tangkal.hashing.signals.SignalType.compare`, the judge a bank lookup applies;
    HMA calls threatexchange's ``compare_hash``), and how alike the two are."""
    out: dict[str, Any] = {}
    for name, (left, right) in (await parse_json_body(request, CompareIn)).root.items():
        st = signals.get(name)
        c = st.compare(st.validate(left), st.validate(right))
        out[name] = [c.matched, {"distance": c.distance, **c.figures}]
    return out


# ---------------------------------------------------------------------- curation


@router.get("/c/banks", response_model=BankList)
def banks_index(principal: CurrentPrincipal, session: UnitOfWork) -> list[dict[str, Any]]:
    return [_bank_out(b) for b in banks.visible_banks(session, principal)]


@router.get("/c/bank/{bank_name}", response_model=BankConfig)
def bank_show(
    bank_name: BankName, principal: CurrentPrincipal, session: UnitOfWork
) -> dict[str, Any]:
    return _bank_out(banks.get_bank(session, principal, bank_name))


@router.post("/c/banks", status_code=201, response_model=BankConfig)
def bank_create(
    body: BankCreateRequest, principal: CurrentPrincipal, session: UnitOfWork
) -> dict[str, Any]:
    enabled = _enabled(body.enabled_ratio, body.enabled)
    bank = banks.create_bank(session, principal, body.name)
    if enabled is False:
        bank = banks.update_bank(session, principal, bank.name, enabled=False)
    return _bank_out(bank)


@router.put("/c/bank/{bank_name}", response_model=BankConfig)
def bank_update(
    bank_name: BankName, body: BankUpdateRequest, principal: CurrentPrincipal, session: UnitOfWork
) -> dict[str, Any]:
    if body.name is not None and body.name.strip().lower() != bank_name.strip().lower():
        raise InvalidInput(Msg("A tangkal bank keeps its name."), field="name")
    enabled = _enabled(body.enabled_ratio, body.enabled)
    return _bank_out(banks.update_bank(session, principal, bank_name, enabled=enabled))


def _existing_id(session: UnitOfWork, bank: Bank, pairs: list[tuple[str, str]]) -> int:
    for stype, sig in pairs:
        found = session.scalar(
            select(BankContent.id).where(
                BankContent.bank_id == bank.id,
                BankContent.signal_type == stype,
                BankContent.signal == sig,
            )
        )
        if found is not None:
            return int(found)
    return 0


@router.post(
    "/c/bank/{bank_name}/content",
    status_code=201,
    response_model=SignalsAdded,
    openapi_extra=UPLOAD,
)
async def bank_add_content(
    bank_name: BankName,
    request: Request,
    principal: CurrentPrincipal,
    session: UnitOfWork,
    url: Annotated[str | None, Query(max_length=5000, json_schema_extra=_NO_URL)] = None,
) -> dict[str, Any]:
    """Bank an uploaded file under every signal type that hashes it."""
    _refuse_url(url)
    bank = banks.get_bank(session, principal, bank_name, write=True)  # before hashing
    content = await _upload(request)
    results = await hash_upload(request.app.state, content, lambda: hash_content(content))
    pairs = [(r.signal_type, r.signal) for r in results if r.signal]
    if not pairs:
        raise InvalidInput(Msg("No signals given"), field="file")
    note = _note((await request.form()).get("note"))
    result = add_file(
        session,
        principal,
        bank.name,
        content,
        label=note,
        results=results,
    )
    return {
        "id": result.added[0].id if result.added else _existing_id(session, bank, pairs),
        "signals": {signals.get(t).te_name: sig for t, sig in pairs},
    }


@router.post(
    "/c/bank/{bank_name}/signal",
    status_code=201,
    response_model=SignalsAdded,
    openapi_extra=json_body(SignalsIn),
)
async def bank_add_signals(
    bank_name: BankName, request: Request, principal: CurrentPrincipal, session: UnitOfWork
) -> dict[str, Any]:
    """Bank signals given directly: JSON ``{"<signal_type>": "<signal>", ..., "note": ...}``."""
    body = dict((await parse_json_body(request, SignalsIn)).root)
    note = _note(body.pop("note", None))
    if not body:
        raise InvalidInput(Msg("No signals given"), field="body")
    bank = banks.get_bank(session, principal, bank_name, write=True)
    pairs: list[tuple[str, str]] = []
    added: list[BankContent] = []
    for name, value in body.items():
        st = signals.get(name)
        r = add_signal(session, principal, bank.name, st.name, value, label=note)
        added += r.added
        pairs.append((st.name, st.validate(value)))
    ids = [r.id for r in added]
    return {
        "id": ids[0] if ids else _existing_id(session, bank, pairs),
        "signals": {signals.get(t).te_name: s for t, s in pairs},
    }


def _content_row(
    session: UnitOfWork, principal: Principal, bank_name: str, content_id: int
) -> BankContent:
    rows = list_content(session, principal, bank_name, after=content_id - 1, limit=1)
    if not rows or rows[0].id != content_id:
        raise NotFound(Msg("content %(id)s not found", id=content_id))
    return rows[0]


@router.get("/c/bank/{bank_name}/content/{content_id}", response_model=ContentOut)
def bank_get_content(
    bank_name: BankName,
    content_id: ContentId,
    principal: CurrentPrincipal,
    session: UnitOfWork,
    include_signals: bool = False,
) -> dict[str, Any]:
    row = _content_row(session, principal, bank_name, content_id)
    out: dict[str, Any] = {
        "id": row.id,
        "disable_until_ts": 0,
        "original_media_uri": None,
        "bank": _bank_out(row.bank),
    }
    if include_signals:
        out["signals"] = {signals.get(row.signal_type).te_name: row.signal}
    if row.label:
        out["note"] = row.label
    return out


@router.delete("/c/bank/{bank_name}/content/{content_id}", response_model=Deleted)
def bank_delete_content(
    bank_name: BankName, content_id: ContentId, principal: CurrentPrincipal, session: UnitOfWork
) -> dict[str, Any]:
    remove_content(session, principal, bank_name, content_id)
    return {"deleted": 1}


@router.get("/c/signal_type", response_model=SignalTypeList)
def signal_types(principal: CurrentPrincipal) -> list[dict[str, Any]]:
    """Every signal type tangkal matches, under HMA's names; all are on."""
    return [{"name": st.te_name, "enabled_ratio": 1.0} for st in signals.REGISTRY]


# ----------------------------------------------------------------------- hashing


@router.post("/h/hash", response_model=HashResponse, openapi_extra=UPLOAD)
async def hash_file(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    """The signals of an uploaded file, by signal type."""
    return _named(await _hash(request, await _upload(request)))


@router.get("/h/hash", response_model=HashResponse)
def hash_url(
    principal: CurrentPrincipal, url: Annotated[str | None, Query(max_length=5000)] = None
) -> dict[str, Any]:
    """HMA hashes the content at ``url``; tangkal refuses (see the module docstring)."""
    raise InvalidInput(NO_URL, field="url")
