"""Every delivery state and every event on an order's record has words in both languages."""

from __future__ import annotations

import pytest

from tangkal.delivery.models import DeliveryStatus
from tangkal.web import labels
from tangkal.web.i18n import Formatter


def test_every_delivery_state_has_a_label() -> None:
    assert set(labels.DELIVERY_STATUS) == {s.value for s in DeliveryStatus}


@pytest.mark.parametrize(("table", "value", "id_text", "en_text"), [
    ("delivery_status", "inbox", "Menunggu di kotak masuk platform",
     "Waiting in the platform's inbox"),
    ("delivery_status", "delivered", "Terkirim", "Delivered"),
    ("event", "order.issued", "Perintah diterbitkan", "Order issued"),
    ("event", "order.evidence_banked", "Bukti dimasukkan ke bank hash",
     "Evidence put into a hash bank"),
])
def test_labels_in_both_languages(table: str, value: str, id_text: str, en_text: str) -> None:
    assert Formatter("id").label(table, value) == id_text
    assert Formatter("en").label(table, value) == en_text


def test_every_message_sent_to_a_platform_about_an_order_is_named() -> None:
    for event in ("order.issued", "order.clarification_answered", "order.warning_issued"):
        assert event in labels.EVENT


def test_an_unknown_code_is_shown_as_it_is() -> None:
    assert Formatter("id").label("event", "order.something_new") == "order.something_new"
