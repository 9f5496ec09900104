"""Video as a signal type: Meta's vPDQ (a PDQ hash of one frame a second), and its index.

A vPDQ signal is the list of a video's frame hashes, each with its PDQ quality and timestamp,
serialised as threatexchange 1.2 does (``VPDQSignal``, exchanged as ``vpdq``): a JSON list of
``"<64 hex>,<quality>,<seconds>"`` strings. A banked video is therefore hundreds of frames, not
one hash, and it matches by vPDQ's own rule rather than by one distance:

* frames of quality below 50 are dropped and identical frame hashes counted once (vPDQ's
  matcher does the same: flat frames, such as black fades, match everything);
* a query frame *matches* a banked video when some frame of that video is within
  :attr:`VpdqSignal.frame_distance` bits (PDQ's 31);
* the share of the query's frames that match is the *query match*, and the share of the banked
  video's frames that some query frame matched is the *compared match*. threatexchange asks
  for a query match of at least 80% and a compared match of at least 0% (any).

To fit the matcher's one interface (an index answers candidates with a distance, and a bank
keeps one threshold per type), the distance of a query to a banked video is
``100 - query match`` in whole per cent, rounded towards "farther": a bank's ``vpdq``
threshold is the share of query frames that may go unmatched (default 20, that is
threatexchange's 80%). A trimmed copy of a banked video still matches (all its frames are in
the banked one), a clip that only shares an intro does not.

The index (:class:`VpdqSignalIndex`) is the project's PDQ multi-index
(:class:`~tangkal.hashing.index.PdqIndex`) over every banked *frame*, each frame's id naming
its video, so one lookup of a query's frames is one batched PDQ search, then the two shares per
candidate video are counted with numpy; it is exact, as the PDQ index is.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from tangkal.errors import InvalidInput, Msg
from tangkal.hashing.index import IndexMatch, PdqIndex
from tangkal.hashing.signal_index import SignalIndex
from tangkal.hashing.signals import (
    PDQ_MIN_QUALITY,
    Comparison,
    SignalResult,
    SignalType,
    Threshold,
)

FRAME_BITS = 20
"""A frame's id in the frame index is ``video id << 20 | frame number``: up to a million frames
per video (11 days at vPDQ's one frame a second) and 2**43 content ids."""
MAX_FRAMES = 1 << FRAME_BITS

FRAME_RADIUS = 31
"""The Hamming radius the frame index is built for and searched within: vPDQ's and PDQ's
frame distance, the most a bank may set."""

QUERY_SHARE, BANKED_SHARE, FRAME_DISTANCE = "query_share", "banked_share", "frame_distance"
"""The names of vPDQ's thresholds (:attr:`VpdqSignal.thresholds`)."""

VPDQ_SECONDS_PER_HASH = 1.0
"""One frame hashed per second of video: threatexchange's and vPDQ's default, so a bank
imported from them and an upload hashed here compare like for like."""

VIDEO_DECODE_BYTES = 160 * 1024 * 1024
"""Memory that hashing one video takes beside its bytes, estimated before decoding for the
upload budget: libav's demuxer and decoder with its pool of reference frames, the RGB frame
vpdq converts each hashed frame to, PDQ's buffers (vpdq hashes on the decoding thread, so
nothing queues up: the length of a video does not matter, its resolution and reference
frames do).

Measured, not derived: ``python3 -m bench.hashing.bench_video_memory`` hashes ffmpeg
``testsrc2`` clips (30 frames a second) each in a fresh process and reports the growth of its
peak resident set (``VmHWM``, reset just before hashing) over the resident set with tangkal,
vpdq and the clip loaded. On 2026-12-03 (2 CPUs, vpdq 0.2.5, libavcodec 59, the decoder's
slice threads one per CPU): 720p 10 s H.264 +44 MB; 1080p 10 s H.264 +61 MB, 30 s +61 MB;
1080p with 16 reference frames (H.264's most) +123 MB; 1080p VP9 WebM +67 MB; 2160p 5 s
H.264 +154 MB. 160 MiB covers all of these. It does not cover 2160p with 16 reference
frames (+399 MB): a constant, because the container's header is not parsed for the frame
size before admission; the budget's limit of concurrent workers bounds what such uploads
take together."""


def video_container(content: bytes) -> str | None:
    """``"mp4"`` or ``"webm"`` from the first bytes (magic numbers), else ``None``.

    MP4 (ISO base media, including MOV-branded files ffmpeg reads alike) has a ``ftyp`` box at
    offset 4; WebM is an EBML document (``1A 45 DF A3``) whose DocType is ``webm``. Matroska
    with another DocType, AVI and the rest are refused: banks take what platforms store."""
    head = bytes(content[:64])
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3") and b"webm" in head:
        return "webm"
    return None


def _frame_words(hexes: Sequence[str]) -> np.ndarray:
    """Frame hashes as the PDQ index's words (validated hex only)."""
    return np.frombuffer(bytes.fromhex("".join(hexes)), dtype=np.uint8).reshape(-1, 32)


class VpdqSignal(SignalType):
    """Meta's vPDQ video hash (see the module docstring)."""

    name = "vpdq"
    media = "video"
    default_threshold = 20
    """On the distance scale (``100 - query match``): threatexchange's query match of 80%."""
    max_distance = 100
    max_threshold = 100
    very_close = 5
    description = "vPDQ video hash (PDQ of one frame a second; share of frames matched)"
    frame_distance: ClassVar[int] = FRAME_RADIUS
    """Bits within which two frames match by default (vPDQ's and PDQ's 31)."""
    min_compared_pct: ClassVar[float] = 0.0
    """Share of a banked video's frames that must be matched by default (threatexchange's:
    any)."""
    min_quality: ClassVar[int] = PDQ_MIN_QUALITY
    thresholds = (
        Threshold(
            QUERY_SHARE,
            100 - default_threshold,
            1,
            100,
            Msg("Least share of the upload's frames matched, per cent"),
            Msg(
                "At least this share of the uploaded video's frames must match frames of the "
                "banked video (vPDQ's query match; threatexchange's default is 80)."
            ),
            loosens="down",
        ),
        Threshold(
            BANKED_SHARE,
            0,
            0,
            100,
            Msg("Least share of the banked video's frames matched, per cent"),
            Msg(
                "At least this share of the banked video's frames must be matched by the "
                "upload (vPDQ's compared match; threatexchange's default, 0, is any). Raise it "
                "so that a clip sharing only an intro or an outro does not match."
            ),
            loosens="down",
        ),
        Threshold(
            FRAME_DISTANCE,
            FRAME_RADIUS,
            0,
            FRAME_RADIUS,
            Msg("Bits that may differ between two frames"),
            Msg(
                "How many of a frame's 256 PDQ bits may differ for two frames to match "
                "(vPDQ's 31; at most 31, the radius the frame index searches)."
            ),
        ),
    )

    def new_index(self) -> SignalIndex:
        return VpdqSignalIndex(min_quality=self.min_quality)

    def closeness(self, distance: int, threshold: int | None = None) -> int:
        """The query match itself, in per cent."""
        return max(0, 100 - distance)

    def candidates(
        self, index: SignalIndex, signal: str, widest: Mapping[str, int]
    ) -> list[VpdqMatch]:
        """Banked videos that match under the loosest rules, each with its frame counts by
        distance, so that :meth:`judge` applies every bank's own rules without searching
        again."""
        assert isinstance(index, VpdqSignalIndex)
        rules = {**self.default_rules(), **widest}
        return index.search_rules(
            index.usable(signal),
            query_share=rules[QUERY_SHARE],
            banked_share=rules[BANKED_SHARE],
            frame_distance=rules[FRAME_DISTANCE],
        )

    def judge(self, match: Any, rules: Mapping[str, int]) -> int | None:
        """vPDQ's rule with one bank's values; a candidate that is not a :class:`VpdqMatch`
        (a comparison of two signals) is judged by its distance, at the default frame
        distance and banked share."""
        wanted = {**self.default_rules(), **rules}
        if isinstance(match, VpdqMatch):
            return match.judge(wanted[QUERY_SHARE], wanted[BANKED_SHARE], wanted[FRAME_DISTANCE])
        return match.distance if match.distance <= 100 - wanted[QUERY_SHARE] else None

    def compare(self, a: str, b: str, rules: Mapping[str, int] | None = None) -> Comparison:
        """``a`` (the query) against ``b`` (the banked video) by vPDQ's rule under a rule set
        (default: the type's own): the :meth:`VpdqMatch.judge` the index's candidates get,
        on one brute-force comparison, with both shares (threatexchange's
        ``VPDQSimilarityInfo``: query and compared match per cent)."""
        wanted = {**self.default_rules(), **(rules or {})}
        m = VpdqMatch.compare(self.usable(a), self.usable(b), FRAME_RADIUS)
        if m is None:
            return Comparison(
                False, 100, {"query_match_percent": 0.0, "compared_match_percent": 0.0}
            )
        q, c = m.shares(wanted[FRAME_DISTANCE])
        judged = m.judge(wanted[QUERY_SHARE], wanted[BANKED_SHARE], wanted[FRAME_DISTANCE])
        return Comparison(
            judged is not None,
            _distance(q, c, self.min_compared_pct),
            {"query_match_percent": round(q, 2), "compared_match_percent": round(c, 2)},
        )

    # signals ----------------------------------------------------------------------------
    def _bad(self, why: Msg) -> InvalidInput:
        return InvalidInput(
            Msg(
                'a %(type)s signal is a JSON list of "<64 hex digits>,<quality>,<seconds>" '
                "frames (threatexchange's format): %(why)s",
                type=self.name,
                why=why,
            ),
            field="signal",
        )

    def frames(self, signal: str) -> list[tuple[str, int, float]]:
        """(hex, quality, timestamp) of every frame of a signal, in order; InvalidInput naming
        what is wrong otherwise."""
        if not isinstance(signal, str):
            raise self._bad(Msg("got %(got)s", got=type(signal).__name__))
        try:
            items = json.loads(signal)
        except ValueError:
            raise self._bad(Msg("not JSON")) from None
        if not isinstance(items, list) or not items:
            raise self._bad(Msg("not a non-empty list"))
        if len(items) > MAX_FRAMES:
            raise self._bad(Msg("more than %(n)s frames", n=MAX_FRAMES))
        out = []
        for i, item in enumerate(items):
            parts = item.split(",") if isinstance(item, str) else []
            try:
                hex_, quality, ts = parts
                hex_ = hex_.strip().lower()
                if len(hex_) != 64:
                    raise ValueError
                int(hex_, 16)
                q, t = int(quality), float(ts)
            except ValueError:
                raise self._bad(
                    Msg('frame %(i)s is not "<64 hex>,<quality>,<seconds>"', i=i)
                ) from None
            if not 0 <= q <= 100 or not (math.isfinite(t) and t >= 0):
                raise self._bad(Msg("frame %(i)s has quality outside 0..100 or a bad time", i=i))
            out.append((hex_, q, t))
        return out

    @staticmethod
    def serialise(frames: Sequence[tuple[str, int, float]]) -> str:
        """The canonical signal of frames: threatexchange's JSON list, times in milliseconds."""
        return json.dumps([f"{h},{q},{t:.3f}" for h, q, t in frames])

    def validate(self, signal: str) -> str:
        return self.serialise(self.frames(signal))

    def usable(self, signal: str) -> list[str]:
        """The frames vPDQ matches on: quality at least 50, identical hashes once, in order."""
        seen: dict[str, None] = {}
        for h, q, _ in self.frames(signal):
            if q >= self.min_quality:
                seen.setdefault(h)
        return list(seen)

    def shares(
        self, query: str, banked: str, frame_distance: int = FRAME_RADIUS
    ) -> tuple[float, float]:
        """(query match, compared match) in per cent by vPDQ's rule, by brute force (two
        videos only; the index answers many)."""
        m = VpdqMatch.compare(self.usable(query), self.usable(banked), frame_distance)
        return (0.0, 0.0) if m is None else m.shares(frame_distance)

    def distance(self, a: str, b: str) -> int:
        """``100 - query match`` of ``a`` (the query) in ``b`` (the banked video), 100 when the
        compared match is under :attr:`min_compared_pct` or nothing matched. Not symmetric:
        vPDQ's rule is not (a trimmed copy is all in its original, not the other way)."""
        query_pct, compared_pct = self.shares(a, b)
        return _distance(query_pct, compared_pct, self.min_compared_pct)

    # hashing ----------------------------------------------------------------------------
    def working_bytes(self, content: bytes) -> int:
        """A video costs its bytes and a decoder (:data:`VIDEO_DECODE_BYTES`); anything else is
        not decoded here at all."""
        if video_container(content) is None:
            return len(content)
        return len(content) + VIDEO_DECODE_BYTES

    def hash_bytes(self, content: bytes) -> SignalResult:
        self._check_content(content)
        kind = video_container(content)
        if kind is None:
            return self._not_hashed(
                Msg("not an MP4 or WebM video (by its first bytes), so no vPDQ signal")
            )
        vpdq = _vpdq()
        if vpdq is None:
            return self._not_hashed(
                Msg(
                    "video hashing is not installed on this server, so no vPDQ signal (an "
                    "operator adds it with scripts/install-system-deps and "
                    "pip install -e '.[video]'); matched by MD5/SHA-256 only"
                )
            )

        with tempfile.TemporaryDirectory(prefix="tangkal-vpdq-") as tmp:
            path = os.path.join(tmp, f"upload.{kind}")
            with open(path, "wb") as fh:
                fh.write(bytes(content))
            try:
                features = vpdq.computeHash(
                    path, seconds_per_hash=VPDQ_SECONDS_PER_HASH, thread_count=1
                )
            except Exception:  # vpdq raises ValueError/RuntimeError for undecodable files
                features = None
        if not features:
            return self._not_hashed(
                Msg(
                    "the %(kind)s file has no frames ffmpeg can decode, so no vPDQ signal",
                    kind=kind,
                )
            )
        frames = [(f.hex, int(f.quality), float(f.timestamp)) for f in features]
        good = [f for f in frames if f[1] >= self.min_quality]
        if not good:
            return self._not_hashed(
                Msg(
                    "every frame of the video is too flat for vPDQ (quality under %(minimum)s); "
                    "matched by MD5/SHA-256 only",
                    minimum=self.min_quality,
                )
            )
        return SignalResult(
            self.name,
            self.serialise(frames),
            quality=round(sum(q for _, q, _ in good) / len(good)),
            extra={"frames": str(len(frames)), "usable_frames": str(len(good))},
        )


def _vpdq() -> Any:
    """Meta's vpdq module, or None where the optional ``video`` extra is not installed: it is
    published only as source that builds against ffmpeg's development packages, so a plain
    ``pip install -e .`` on a fresh machine leaves it out rather than failing. Matching and
    exchange of vPDQ signals need only PDQ, so they work either way."""
    try:
        import vpdq
    except ImportError:
        return None
    return vpdq


def video_hashing_available() -> bool:
    """Whether this server can hash video files (logged once at start)."""
    return _vpdq() is not None


def _distance(query_pct: float, compared_pct: float, min_compared_pct: float) -> int:
    if query_pct <= 0 or compared_pct <= 0 or compared_pct < min_compared_pct:
        return 100
    # rounded towards "farther", so a threshold of 20 means a query match of at least 80%
    return min(100, math.ceil(100 - query_pct - 1e-9))


def _popcount_rows(q: np.ndarray, w: np.ndarray) -> np.ndarray:
    """All-pairs Hamming distances of ``(n, 4)`` and ``(k, 4)`` uint64 hashes, ``(n, k)``
    uint16, one 64-bit column at a time (a quarter of the temporary memory of broadcasting
    all four)."""
    d = np.bitwise_count(q[:, None, 0] ^ w[None, :, 0]).astype(np.uint16)
    for c in (1, 2, 3):
        d += np.bitwise_count(q[:, None, c] ^ w[None, :, c])
    return d


@dataclass(frozen=True, slots=True, eq=False)
class VpdqMatch:
    """A banked video near a query, with what every bank's rules need to judge it.

    ``query_within[f]`` is how many of the query's usable frames are within ``f`` bits of some
    frame of the video, ``banked_within[f]`` how many of the video's frames are within ``f``
    bits of some query frame, for ``f`` = 0..the radius searched. A bank's frame distance,
    query share and banked share are then two divisions and three comparisons.
    """

    id: int
    distance: int
    """``100 - query match`` under the rules the index was searched with."""
    query_frames: int
    banked_frames: int
    query_within: np.ndarray
    banked_within: np.ndarray

    def shares(self, frame_distance: int) -> tuple[float, float]:
        """(query match, compared match) in per cent at a frame distance."""
        f = min(frame_distance, self.query_within.shape[0] - 1)
        return (
            100 * int(self.query_within[f]) / self.query_frames,
            100 * int(self.banked_within[f]) / self.banked_frames,
        )

    def judge(self, query_share: int, banked_share: int, frame_distance: int) -> int | None:
        """``100 - query match`` when the shares at ``frame_distance`` are at least the given
        ones (and some frame matched at all), else ``None``."""
        q, b = self.shares(frame_distance)
        if q <= 0 or b <= 0 or q < query_share - 1e-9 or b < banked_share - 1e-9:
            return None
        return _distance(q, b, 0.0)

    @classmethod
    def compare(cls, query: Sequence[str], banked: Sequence[str], radius: int) -> VpdqMatch | None:
        """Two videos' usable frames (hex) compared by brute force (``None``: one has none)."""
        if not query or not banked:
            return None
        qw, bw = _as_words(_frame_words(query)), _as_words(_frame_words(banked))
        return _judged(0, _popcount_rows(qw, bw), radius)


def _as_words(frames: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(frames, dtype=np.uint8).view(np.uint64).reshape(-1, 4)


def _within(mins: np.ndarray, radius: int) -> np.ndarray:
    """Counts of ``mins`` at most 0, 1, ... ``radius``."""
    hist = np.bincount(np.minimum(mins, radius + 1), minlength=radius + 2)
    return np.cumsum(hist[: radius + 1])


def _judged(vid: int, d: np.ndarray, radius: int) -> VpdqMatch:
    """A match from the ``(query frames, banked frames)`` distances of one video."""
    q_within = _within(d.min(axis=1), radius)
    b_within = _within(d.min(axis=0), radius)
    q = 100 * int(q_within[radius]) / d.shape[0]
    b = 100 * int(b_within[radius]) / d.shape[1]
    return VpdqMatch(vid, _distance(q, b, 0.0), d.shape[0], d.shape[1], q_within, b_within)


VERIFY_CELLS = 1 << 22
"""Query x banked frame distances computed at once while verifying candidates (8 MB of
uint16): bounds a lookup's memory however many candidates it has."""


class VpdqSignalIndex(SignalIndex):
    """Banked videos by their frames, in one :class:`PdqIndex` (see the module docstring).

    A lookup is a candidate step and a verification:

    * **Candidates.** A video with a query match of at least ``q`` per cent matches at least
      ``m = ceil(q n / 100)`` of the query's ``n`` usable frames, so any ``n - m + 1`` of them
      include a frame that matches it (pigeonhole). Only that many frames, spread over the
      query, are searched in the frame index (at 80%, a fifth of them); the videos they hit
      are the candidates. Exact: no video that can match is missed.
    * **Verification.** Each candidate's frames are read back from the frame index and
      compared with all the query's frames at once (numpy, all pairs): per frame its
      nearest distance on the other side, counted by distance (:class:`VpdqMatch`), from
      which the two shares follow at any frame distance up to the radius.

    ``search(signal, threshold)`` is the common interface (``threshold`` on the distance
    scale, ``100 - query match``, at the default frame distance and banked share);
    :meth:`search_rules` takes the three thresholds.
    """

    def __init__(
        self,
        frames: PdqIndex | None = None,
        *,
        min_quality: int = PDQ_MIN_QUALITY,
    ) -> None:
        self.frames = frames if frames is not None else PdqIndex(threshold=FRAME_RADIUS)
        self.radius = min(self.frames.threshold, FRAME_RADIUS)
        self.min_quality = min_quality
        self._type = VpdqSignal()
        self.counts: dict[int, int] = {}
        """Usable frames of each banked video (the compared match's denominator)."""
        if frames is not None:
            ids = frames.live_ids() >> FRAME_BITS
            vids, n = np.unique(ids, return_counts=True)
            self.counts = {int(v): int(c) for v, c in zip(vids, n, strict=True)}

    def usable(self, signal: str) -> list[str]:
        """The frames of a signal this index matches on (quality and duplicates, as
        :meth:`VpdqSignal.usable`)."""
        seen: dict[str, None] = {}
        for h, q, _ in self._type.frames(signal):
            if q >= self.min_quality:
                seen.setdefault(h)
        return list(seen)

    def add(self, items: Sequence[tuple[str, int]]) -> None:
        if not items:
            return
        self.remove([cid for _, cid in items])
        words, ids = [], []
        for signal, cid in items:
            usable = self.usable(signal)
            if not usable:
                continue  # nothing vPDQ would match on (the type never banks such a video)
            self.counts[cid] = len(usable)
            words.append(_frame_words(usable))
            ids.append((np.int64(cid) << FRAME_BITS) + np.arange(len(usable), dtype=np.int64))
        if words:
            self.frames.add(np.concatenate(words), np.concatenate(ids))

    def remove(self, ids: Sequence[int]) -> None:
        gone = [(cid, self.counts.pop(cid)) for cid in ids if cid in self.counts]
        if gone:
            self.frames.remove(
                np.concatenate(
                    [(np.int64(c) << FRAME_BITS) + np.arange(n, dtype=np.int64) for c, n in gone]
                )
            )

    def _frame_ids(self, vids: Sequence[int]) -> np.ndarray:
        return np.concatenate(
            [(np.int64(v) << FRAME_BITS) + np.arange(self.counts[v], dtype=np.int64) for v in vids]
        )

    def _chunks(self, vids: list[int], frames: int) -> list[list[int]]:
        """``vids`` in runs of about ``frames`` banked frames (at least one video each)."""
        out: list[list[int]] = [[]]
        size = 0
        for v in vids:
            if out[-1] and size + self.counts[v] > frames:
                out.append([])
                size = 0
            out[-1].append(v)
            size += self.counts[v]
        return [c for c in out if c]

    def search_rules(
        self,
        frame_hashes: Sequence[str] | np.ndarray,
        *,
        query_share: int,
        banked_share: int,
        frame_distance: int,
    ) -> list[VpdqMatch]:
        """Videos whose shares at ``frame_distance`` are at least ``query_share`` and
        ``banked_share`` per cent, for a query given as its usable frames (hex, or an
        ``n x 32`` array of PDQ bytes), nearest first."""
        n = len(frame_hashes)
        if not n or not self.counts:
            return []
        radius = min(max(0, frame_distance), self.radius)
        raw = frame_hashes if isinstance(frame_hashes, np.ndarray) else _frame_words(frame_hashes)
        q = _as_words(raw)
        need = max(1, math.ceil(query_share * n / 100 - 1e-9))  # query frames that must match
        k = n - min(need, n) + 1
        probe = q[np.arange(k, dtype=np.int64) * n // k]
        _, fids, _ = self.frames.search_many(probe, radius)
        if fids.size == 0:
            return []
        cands = [int(v) for v in np.unique(fids >> FRAME_BITS) if int(v) in self.counts]
        out: list[VpdqMatch] = []
        for chunk in self._chunks(cands, VERIFY_CELLS // n):
            found, words = self.frames.words_of(self._frame_ids(chunk))
            d = _popcount_rows(q, words)
            d[:, ~found] = PDQ_BITS_PLUS  # a frame missing (being replaced) matches nothing
            at = 0
            for vid in chunk:
                size = self.counts[vid]
                m = _judged(vid, d[:, at : at + size], radius)
                at += size
                if m.judge(query_share, banked_share, radius) is not None:
                    out.append(m)
        return sorted(out, key=lambda m: (m.distance, m.id))

    def search_frames(
        self, frame_hashes: Sequence[str] | np.ndarray, threshold: int
    ) -> list[IndexMatch]:
        """Videos within ``threshold`` (``100 - query match``) of a query given as its usable
        frames, at the default frame distance and banked share."""
        found = self.search_rules(
            frame_hashes,
            query_share=max(0, 100 - threshold),
            banked_share=math.ceil(VpdqSignal.min_compared_pct),
            frame_distance=VpdqSignal.frame_distance,
        )
        return [IndexMatch(m.id, m.distance) for m in found]

    def search(self, signal: str, threshold: int) -> list[IndexMatch]:
        return self.search_frames(self.usable(signal), threshold)

    def __len__(self) -> int:
        return len(self.counts)

    def stats(self) -> Any:
        return {"videos": len(self.counts), "frames": len(self.frames)}

    def save(self, path: str | os.PathLike[str]) -> None:
        """The frame index's own file: the videos' frame counts are rebuilt from its ids."""
        self.frames.save(path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> VpdqSignalIndex:
        try:
            frames = PdqIndex.load(path)
        except (OSError, ValueError):
            raise
        except Exception as exc:  # InvalidInput for a file of another kind
            raise ValueError(f"unusable vPDQ index file {path}: {exc}") from exc
        return cls(frames)


PDQ_BITS_PLUS = 257
"""A distance past any two PDQ hashes' (256 bits), for frames that are not there."""


VpdqSignal.index_cls = VpdqSignalIndex
