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
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from tangkal.errors import InvalidInput, Msg
from tangkal.hashing.index import IndexMatch, PdqIndex
from tangkal.hashing.signal_index import SignalIndex
from tangkal.hashing.signals import PDQ_MIN_QUALITY, SignalResult, SignalType

FRAME_BITS = 20
"""A frame's id in the frame index is ``video id << 20 | frame number``: up to a million frames
per video (11 days at vPDQ's one frame a second) and 2**43 content ids."""
MAX_FRAMES = 1 << FRAME_BITS

VPDQ_SECONDS_PER_HASH = 1.0
"""One frame hashed per second of video: threatexchange's and vPDQ's default, so a bank
imported from them and an upload hashed here compare like for like."""

VIDEO_DECODE_BYTES = 96 * 1024 * 1024
"""Memory that decoding one video takes beside its bytes, estimated before decoding for the
upload budget: a 1080p decoder keeps a pool of reference frames (about 16 of 3 MB) and vpdq
converts each hashed frame to RGB (6 MB) on one thread. A constant, because a container's
header alone does not give the decoder's frame pool; 4K video costs more, and the budget's
limit of concurrent workers bounds the total."""


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
    """``100 - 80``: threatexchange's query match of 80%."""
    max_distance = 100
    max_threshold = 100
    very_close = 5
    description = "vPDQ video hash (PDQ of one frame a second; share of frames matched)"
    frame_distance: ClassVar[int] = 31
    """Bits within which two frames match (vPDQ's and PDQ's default)."""
    min_compared_pct: ClassVar[float] = 0.0
    """Share of a banked video's frames that must be matched (threatexchange's default: any)."""
    min_quality: ClassVar[int] = PDQ_MIN_QUALITY

    def new_index(self) -> SignalIndex:
        return VpdqSignalIndex(
            frame_distance=self.frame_distance,
            min_quality=self.min_quality,
            min_compared_pct=self.min_compared_pct,
        )

    def closeness(self, distance: int, threshold: int | None = None) -> int:
        """The query match itself, in per cent."""
        return max(0, 100 - distance)

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

    def shares(self, query: str, banked: str) -> tuple[float, float]:
        """(query match, compared match) in per cent by vPDQ's rule, by brute force (two
        videos only; the index answers many)."""
        q, b = self.usable(query), self.usable(banked)
        if not q or not b:
            return 0.0, 0.0
        qw, bw = _frame_words(q), _frame_words(b)
        d = np.unpackbits(qw[:, None, :] ^ bw[None, :, :], axis=2).sum(axis=2)
        close = d <= self.frame_distance
        return 100 * close.any(axis=1).mean(), 100 * close.any(axis=0).mean()

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


class VpdqSignalIndex(SignalIndex):
    """Banked videos by their frames, in one :class:`PdqIndex` (see the module docstring).

    ``search(signal, threshold)`` answers every banked video whose distance
    (``100 - query match``) is within ``threshold``; a bank's own threshold is applied after,
    as for every type.
    """

    def __init__(
        self,
        frames: PdqIndex | None = None,
        *,
        frame_distance: int = VpdqSignal.frame_distance,
        min_quality: int = PDQ_MIN_QUALITY,
        min_compared_pct: float = VpdqSignal.min_compared_pct,
    ) -> None:
        self.frames = frames if frames is not None else PdqIndex(threshold=frame_distance)
        self.frame_distance = frame_distance
        self.min_quality = min_quality
        self.min_compared_pct = min_compared_pct
        self._type = VpdqSignal()
        self.counts: dict[int, int] = {}
        """Usable frames of each banked video (the compared match's denominator)."""
        if frames is not None:
            ids = frames.live_ids() >> FRAME_BITS
            vids, n = np.unique(ids, return_counts=True)
            self.counts = {int(v): int(c) for v, c in zip(vids, n, strict=True)}

    def _usable(self, signal: str) -> list[str]:
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
            usable = self._usable(signal)
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

    def search_frames(
        self, frame_hashes: Sequence[str] | np.ndarray, threshold: int
    ) -> list[IndexMatch]:
        """Videos within ``threshold`` of a query given as its usable frames (hex, or an
        n x 32 array of PDQ bytes)."""
        if not len(frame_hashes) or not self.counts:
            return []
        query = frame_hashes if isinstance(frame_hashes, np.ndarray) else list(frame_hashes)
        qi, fids, _ = self.frames.search_many(query, self.frame_distance)
        if fids.size == 0:
            return []
        vids = fids >> FRAME_BITS
        # distinct (video, query frame) and distinct (video, banked frame) pairs
        q_pairs = np.unique(np.stack([vids, qi.astype(np.int64)], axis=1), axis=0)
        b_frames = np.unique(fids)
        qv, q_n = np.unique(q_pairs[:, 0], return_counts=True)
        bv, b_n = np.unique(b_frames >> FRAME_BITS, return_counts=True)
        banked = dict(zip(bv.tolist(), b_n.tolist(), strict=True))
        out = []
        for vid, n_q in zip(qv.tolist(), q_n.tolist(), strict=True):
            query_pct = 100 * n_q / len(frame_hashes)
            compared_pct = 100 * banked[vid] / self.counts[vid]
            d = _distance(query_pct, compared_pct, self.min_compared_pct)
            if d <= threshold:
                out.append(IndexMatch(int(vid), d))
        return sorted(out, key=lambda m: (m.distance, m.id))

    def search(self, signal: str, threshold: int) -> list[IndexMatch]:
        return self.search_frames(self._usable(signal), threshold)

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
        return cls(frames, frame_distance=frames.threshold)


VpdqSignal.index_cls = VpdqSignalIndex
