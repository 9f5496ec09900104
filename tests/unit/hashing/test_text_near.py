"""Text signals on realistic forwarded chat messages, in Indonesian and English.

The messages are invented hoax/forward-chain examples (no real propaganda): each hop of a
forward chain adds a "Forwarded from" header, emoji, an extra line, changes punctuation or a
word, or swaps a link's tracking parameters. ``text`` must survive the cosmetic changes exactly;
``text_near`` must also survive edits; neither may match unrelated messages.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tangkal.hashing import text as textnorm
from tangkal.hashing.index import MinHashLshIndex
from tangkal.hashing.signals import TextNearSignal, TextSignal

EXACT = TextSignal()
NEAR = TextNearSignal()

ORIGINALS = {
    "listrik": (
        "PENTING!!! Besok jam 10 pagi akan ada pemadaman listrik total se-Jawa dan Bali selama "
        "3 hari karena perbaikan gardu induk. Siapkan air bersih, lilin dan senter. Sebarkan ke "
        "keluarga dan teman-teman kalian! https://bit.ly/info-pln?utm_source=wa"
    ),
    "vaksin": (
        "Info dari teman yang kerja di rumah sakit: vaksin yang dibagikan minggu ini mengandung "
        "chip pelacak, jangan mau disuntik sebelum ada klarifikasi resmi dari kementerian. "
        "Tolong teruskan ke grup keluarga."
    ),
    "bank": (
        "Mulai 1 Juli semua rekening bank yang tidak diperbarui datanya akan diblokir permanen. "
        "Segera isi formulir di tautan berikut sebelum terlambat: https://bank-update.example/form"
    ),
    "flood": (
        "URGENT: the dam upstream has cracked and the city will flood tonight after 9 pm. "
        "Authorities are hiding it. Move your car to high ground and share with everyone you know!"
    ),
    "giveaway": (
        "Congratulations! Our airline is giving away two free tickets to every family for its "
        "anniversary. Answer three questions and forward this message to 20 friends to claim "
        "yours: https://free-tickets.example/claim?ref=abc123"
    ),
    "water": (
        "Warning from a doctor friend: do not drink cold water after a meal, it solidifies the "
        "oil you ate and causes cancer. Drink warm water instead. Please forward to your loved "
        "ones, this could save a life."
    ),
}

# Cosmetic changes only: the exact text signal must not change.
COSMETIC = {
    "listrik": (
        "Forwarded from @infowarga_jkt\n⚠️⚠️ Penting!!!!  besok jam 10 pagi akan ada PEMADAMAN "
        "listrik total se Jawa dan Bali selama 3 hari karena perbaikan gardu induk 🙏\nSiapkan "
        "air bersih, lilin dan senter... Sebarkan ke keluarga dan teman teman kalian "
        "http://www.bit.ly/info-pln?utm_source=telegram&x=1"
    ),
    "flood": (
        "Fwd: urgent - the dam upstream has cracked, and the city will flood tonight after 9 "
        "pm!!! Authorities are hiding it 😱😱 Move your car to high ground and share with everyone "
        "you know"
    ),
}

# Real edits: added lines, changed words, typos. Near matching must still find them.
EDITED = {
    "listrik": [
        "Diteruskan dari grup RT 05\nPENTING! Besok jam 10 pagi ada pemadaman listrik total "
        "se-Jawa dan Bali selama 3 hari karena perbaikan gardu induk. Siapkan air bersih, lilin "
        "dan senter. Sebarkan ke keluarga dan teman-teman! Sudah dikonfirmasi pak RT.",
        "penting!! besok jam 9 pagi akan ada pemadaman listrik total se-jawa dan bali selama 4 "
        "hari karena perbaikan gardu induk. siapkan air bersih, lilin & senter. sebarkan ke "
        "keluarga dan teman2 kalian!",
    ],
    "vaksin": [
        "Info dari teman yg kerja di rumah sakit: vaksin yang dibagikan minggu ini mengandung "
        "chip pelacak!! Jangan mau disuntik sebelum ada klarifikasi resmi dari kementerian. "
        "Tolong teruskan ke grup keluarga 🙏🙏\n\nSaya cuma meneruskan, benar atau tidaknya "
        "wallahualam.",
    ],
    "bank": [
        "Mulai tanggal 1 Juli semua rekening bank yang tidak diperbarui datanya akan diblokir "
        "permanen!!! Segera isi formulir di link berikut sebelum terlambat "
        "https://bank-update.example/form?id=77",
    ],
    "flood": [
        "Forwarded as received. URGENT: the dam upstream has cracked and the city will flood "
        "tonight after 10 pm. Authorities are hiding it!!! Move your car to higher ground and "
        "share with everyone you know.",
    ],
    "giveaway": [
        "Congrats!! Our airline is giving away 2 free tickets to every family for its 50th "
        "anniversary. Answer 3 questions and forward this message to 20 friends to claim yours "
        "https://free-tickets.example/claim?ref=zzz999",
    ],
    "water": [
        "From a doctor friend: do not drink cold water after a meal, it solidifies the oil you "
        "ate and causes cancer!! Drink warm water instead. Please forward to your loved ones, "
        "this could save a life. Sent from my phone",
    ],
}


def _sig(message: str) -> str:
    res = NEAR.hash_text(message)
    assert res.signal is not None, res.reason
    return res.signal


@pytest.mark.parametrize("key", sorted(COSMETIC))
def test_exact_text_survives_cosmetic_changes(key: str) -> None:
    assert EXACT.hash_text(COSMETIC[key]).signal == EXACT.hash_text(ORIGINALS[key]).signal


def test_exact_text_differs_for_edits() -> None:
    for key, edits in EDITED.items():
        for e in edits:
            assert EXACT.hash_text(e).signal != EXACT.hash_text(ORIGINALS[key]).signal


def test_normalise_examples() -> None:
    n = textnorm.normalise
    assert n("Ｈｅｌｌｏ   𝐖𝐨𝐫𝐥𝐝!!") == "hello world"
    assert n("Forwarded from @kanal\nHalo @budi semua 👋🏽") == "halo semua"
    assert n("lihat https://www.t.me/s/kanal?utm=1#x dan www.t.me/s/kanal/") == (
        "lihat t_me_s_kanal dan t_me_s_kanal"
    )
    assert n("#BlokirJokowi trending") == "blokirjokowi trending"
    assert n("🇮🇩🇮🇩 ✅") == ""


@pytest.mark.parametrize(
    ("key", "variant"),
    [(k, v) for k, vs in EDITED.items() for v in vs] + [(k, v) for k, v in COSMETIC.items()],
)
def test_near_duplicate_forwards_match(key: str, variant: str) -> None:
    d = NEAR.distance(_sig(ORIGINALS[key]), _sig(variant))
    assert d <= NEAR.default_threshold, f"{key}: distance {d}"


def test_unrelated_messages_do_not_match() -> None:
    texts = list(ORIGINALS.values()) + [v for vs in EDITED.values() for v in vs]
    owners = list(ORIGINALS) + [k for k, vs in EDITED.items() for _ in vs]
    closest_unrelated = NEAR.max_distance
    for (ta, oa), (tb, ob) in itertools.combinations(zip(texts, owners, strict=True), 2):
        if oa != ob:
            d = NEAR.distance(_sig(ta), _sig(tb))
            closest_unrelated = min(closest_unrelated, d)
    # Unrelated hoaxes in the same language share very few 5-grams: far above the threshold.
    assert closest_unrelated > NEAR.default_threshold + 12, closest_unrelated


def test_short_messages_are_refused_for_near_matching() -> None:
    res = NEAR.hash_text("ok 👍")
    assert not res.ok and res.reason is not None and "at least" in res.reason
    assert EXACT.hash_text("ok 👍").ok


def test_lsh_index_finds_every_forward_and_nothing_else() -> None:
    index = MinHashLshIndex()
    keys = sorted(ORIGINALS)
    for i, key in enumerate(keys):
        index.add(_sig(ORIGINALS[key]), i)
    for key, edits in EDITED.items():
        for e in edits:
            found = [m.id for m in index.search(_sig(e), NEAR.default_threshold)]
            assert found == [keys.index(key)]
    assert index.remove(0) and not index.remove(0)
    assert len(index) == len(keys) - 1


def test_lsh_index_save_load(tmp_path) -> None:  # type: ignore[no-untyped-def]
    index = MinHashLshIndex()
    for i, msg in enumerate(ORIGINALS.values()):
        index.add(_sig(msg), i)
    path = tmp_path / "text.npz"
    index.save(path)
    loaded = MinHashLshIndex.load(path)
    probe = _sig(EDITED["water"][0])
    assert loaded.search(probe, 38) == index.search(probe, 38)


def test_signature_is_stable_across_runs() -> None:
    """Signatures are shared between platforms: they must not depend on the process."""
    sig = textnorm.minhash("penting besok ada pemadaman listrik")
    assert sig.dtype == np.uint32 and sig.shape == (textnorm.MINHASH_SLOTS,)
    again = textnorm.minhash("penting besok ada pemadaman listrik")
    assert (sig == again).all()
