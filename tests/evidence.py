"""An order's evidence for the tests of copies found in the hash banks: a photo (one of
scikit-image's sample pictures, so the suite ships no binary fixture), the resized JPEG copy
a platform would find of it, and an order filed with a file as evidence that is then banked
in the regulator's shared order bank (through the services, in one unit of work)."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from skimage import data as samples

from tangkal.accounts.principal import Principal
from tangkal.db.session import Database
from tangkal.hashing import banks, evidence
from tangkal.hashing.matcher import BankIndexes
from tangkal.orders import services as orders
from tangkal.orders.schemas import EvidenceIn, OrderIn


def sample_png(name: str = "astronaut") -> bytes:
    """scikit-image's sample picture ``name`` (``astronaut``, ``coffee``, ...) as a PNG."""
    buf = io.BytesIO()
    Image.fromarray(getattr(samples, name)()).save(buf, "PNG")
    return buf.getvalue()


def resized_jpeg(png: bytes, size: int = 300, quality: int = 60) -> bytes:
    """A ``size`` x ``size`` JPEG of ``png``: not the same file, still a PDQ match."""
    buf = io.BytesIO()
    Image.open(io.BytesIO(png)).convert("RGB").resize((size, size)).save(
        buf, "JPEG", quality=quality
    )
    return buf.getvalue()


def as_base64(content: bytes) -> str:
    """A file as the order intake takes it (``content_base64``)."""
    return base64.b64encode(content).decode()


@dataclass(frozen=True)
class BankedOrder:
    order_id: str
    evidence_id: str


def banked_order(
    db: Database,
    analyst: Principal,
    idx: BankIndexes | Path,
    *,
    platform: str,
    bank: str,
    filename: str,
    content: bytes,
    locator: str,
    reason: str,
) -> BankedOrder:
    """An order to ``platform`` (its name) with one file as evidence, filed by ``analyst``,
    and that file banked in ``bank``, a shared order bank made for it; ``idx`` is the bank
    indexes or the folder to keep them in."""
    indexes = idx if isinstance(idx, BankIndexes) else BankIndexes(db, idx)
    with db.unit_of_work() as s:
        banks.create_bank(s, analyst, bank, kind="order", shared=True)
        order = orders.file_order(
            s,
            analyst,
            OrderIn(
                platform=platform,
                category="terrorism",
                locators=[locator],
                legal_basis="UU 5/2018",
                reason=reason,
                evidence=[EvidenceIn(filename=filename, content_base64=as_base64(content))],
            ),
        )
        evidence_id = order.evidence[0].id
        evidence.bank_order_evidence(s, analyst, indexes, order.id, evidence_id, bank)
        return BankedOrder(order.id, evidence_id)
