"""A form field FastAPI refuses (over its ``max_length``, not a whole number, out of range,
missing) is explained in the page's language and named by its label, not in pydantic's
English; the errors here are pydantic's own, located as FastAPI locates form fields."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field, ValidationError

from tangkal.web import banks, blocks, cases, console, procedure, public, routes
from tangkal.web.forms import ROUTE_FIELD_LABELS, request_problems
from tangkal.web.i18n import Formatter


class _Withdraw(BaseModel):
    reason: str = Field("", max_length=5)
    content_id: int = Field(..., ge=1)
    offset: int = Field(0, ge=0, le=10)


def _errors(**data: Any) -> list[dict[str, Any]]:
    with pytest.raises(ValidationError) as caught:
        _Withdraw.model_validate(data)
    return [{**e, "loc": ("body", *e["loc"])} for e in caught.value.errors()]


def _page(lang: str, route: str, **data: Any) -> list[str]:
    fmt = Formatter(lang)
    return [fmt.message(m) for m in request_problems(_errors(**data), route)]


def test_an_over_long_field_is_named_by_its_label_in_both_languages() -> None:
    route = "/console/orders/{order_id}/withdraw"
    assert _page("id", route, reason="x" * 6, content_id=1) == [
        "“Alasan penarikan” terlalu panjang; persingkat menjadi paling banyak 5 karakter."
    ]
    assert _page("en", route, reason="x" * 6, content_id=1) == [
        "“Reason for withdrawing” is too long; shorten it to at most 5 characters."
    ]


def test_the_same_field_name_takes_the_label_of_the_form_it_was_sent_from() -> None:
    assert _page("en", "/console/blocks/new", reason="x" * 6, content_id=1) == [
        "“Reason” is too long; shorten it to at most 5 characters."
    ]
    assert _page("en", "/console/orders/new", reason="x" * 6, content_id=1) == [
        "“Reason (shown to the platform)” is too long; shorten it to at most 5 characters."
    ]


@pytest.mark.parametrize(
    ("data", "id_text", "en_text"),
    [
        (
            {},
            "“content_id” wajib diisi; isi lalu kirim formulir sekali lagi.",
            "“content_id” is required; fill it in and send the form again.",
        ),
        (
            {"content_id": "satu"},
            "“content_id” harus berupa bilangan bulat.",
            "“content_id” must be a whole number.",
        ),
        ({"content_id": 0}, "“content_id” harus 1 atau lebih.", "“content_id” must be 1 or more."),
        (
            {"content_id": 1, "offset": 11},
            "“offset” harus 10 atau kurang.",
            "“offset” must be 10 or less.",
        ),
    ],
)
def test_unlabelled_fields_keep_their_name_and_every_common_type_is_translated(
    data: dict[str, Any],
    id_text: str,
    en_text: str,
) -> None:
    assert _page("id", "/console/match/feedback", **data) == [id_text]
    assert _page("en", "/console/match/feedback", **data) == [en_text]


def test_the_english_text_is_the_messages_own_and_no_pydantic_wording_is_left() -> None:
    problems = request_problems(_errors(reason="x" * 6, offset=-1), "/console/blocks/new")
    assert [m.text for m in problems] == [
        "“Reason” is too long; shorten it to at most 5 characters.",
        "“content_id” is required; fill it in and send the form again.",
        "“offset” must be 0 or more.",
    ]
    shown = " ".join(Formatter("id").message(m) for m in problems)
    assert "should" not in shown and "Field required" not in shown


def test_files_and_text_in_each_others_place_and_unknown_types_are_said_plainly() -> None:
    fmt = Formatter("id")
    errors = [
        {
            "type": "value_error",
            "loc": ("body", "file"),
            "msg": "Value error, Expected UploadFile, received: <class 'str'>",
        },
        {"type": "string_type", "loc": ("body", "message", 0), "msg": "Input should be a …"},
        {"type": "url_parsing", "loc": ("body", "label"), "msg": "Input should be a URL"},
        {"type": "json_invalid", "loc": ("body",), "msg": "JSON decode error"},
    ]
    assert [fmt.message(m) for m in request_problems(errors, "/console/banks/{name}/upload")] == [
        "“Berkas” harus berupa berkas yang dipilih dengan pemilih berkas.",
        "“Pesan” harus berupa teks, bukan berkas.",
        "“Label (opsional)” tidak dapat diterima sebagaimana dikirim.",
        "Formulir tidak dapat diterima sebagaimana dikirim; muat ulang halaman lalu coba lagi.",
    ]


def test_every_form_specific_label_names_a_field_of_a_real_web_route() -> None:
    fields: dict[str, set[str]] = {}
    for router in (
        banks.router,
        blocks.router,
        console.router,
        public.router,
        routes.router,
        procedure.router,
        cases.router,
    ):
        for r in router.routes:
            if isinstance(r, APIRoute):
                d = r.dependant
                names = {p.name for p in (*d.body_params, *d.query_params, *d.path_params)}
                fields.setdefault(r.path, set()).update(names)
    for route, name in ROUTE_FIELD_LABELS:
        assert name in fields.get(route, set()), (route, name)
