"""An order's evidence within its caps, count and total bytes (issue 12, finding 7: one order
took 60 MB of evidence)."""

from __future__ import annotations

import pytest

from tangkal.errors import TooLarge
from tangkal.orders.filing import check_evidence_total
from tangkal.settings import get_settings


def test_the_total_of_an_orders_evidence_is_capped_with_its_setting_named() -> None:
    limit = get_settings().max_order_evidence_bytes
    check_evidence_total(0, 0, 2, limit)  # exactly the cap is accepted
    with pytest.raises(TooLarge) as at_filing:
        check_evidence_total(0, 0, 3, 60 * 1024 * 1024)  # the 60 MB, in three files
    assert at_filing.value.status_code == 413 and at_filing.value.field == "evidence"
    assert f"at most {limit} bytes" in at_filing.value.message
    assert "TANGKAL_MAX_ORDER_EVIDENCE_BYTES" in at_filing.value.message
    with pytest.raises(TooLarge) as added_later:
        check_evidence_total(1, limit, 1, 1)  # a file added to an order already at the cap
    assert f"would have {limit + 1} bytes" in added_later.value.message


def test_the_number_of_evidence_files_is_capped() -> None:
    most = get_settings().max_order_evidence_files
    check_evidence_total(most - 1, 0, 1)
    with pytest.raises(TooLarge) as caught:
        check_evidence_total(most, 0, 1)
    assert "TANGKAL_MAX_ORDER_EVIDENCE_FILES" in caught.value.message
