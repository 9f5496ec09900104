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
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from tangkal.errors import InvalidInput, Msg, TooLarge
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

VIDEO_BASE_BYTES = 36 * 1024 * 1024
"""What hashing any video takes beside its frames: libav's demuxer and decoder state, vpdq's
and PDQ's fixed buffers (see :func:`decode_bytes`)."""
PICTURE_BYTES_PER_PIXEL = 2.4
"""One picture the decoder keeps (a reference or a reordered frame): the YUV 4:2:0 frame
(1.5 bytes a pixel) with libav's edge padding, alignment and per-picture side tables
(motion vectors, macroblock types), fitted as 1.6 frames."""
FIXED_BYTES_PER_PIXEL = 4.5
"""Per pixel beside the decoder's pictures: the frame being decoded and the RGB frame vpdq
converts each hashed frame to (3 bytes a pixel), fitted as 3 YUV frames."""
UNKNOWN_CODEC_PICTURES = 16
"""Pictures assumed for a codec whose reference structure is not read here (H.264's and
HEVC's largest decoded picture buffer)."""
PROBE_TIMEOUT = 10.0
"""Seconds ffprobe may take to read a video's stream header."""
PROBE_ADDRESS_SPACE = 1024 * 1024 * 1024
"""Address space ffprobe may map (``prlimit --as``): probing decodes a frame or two, and an
8K frame needs about 384 MiB of address space, so the probe of a hostile file is bounded
too; a file it cannot probe within this is refused as unreadable."""
PROBE_SIZE = 5_000_000
"""Bytes ffprobe reads to find the streams (``-probesize``), and microseconds it analyses
(``-analyzeduration``): the header and the first frames, never the whole file."""

_H264_MAX_DPB_MBS = {
    9: 396, 10: 396, 11: 900, 12: 2376, 13: 2376, 20: 2376, 21: 4752, 22: 8100, 30: 8100,
    31: 18000, 32: 20480, 40: 32768, 41: 32768, 42: 34816, 50: 110400, 51: 184320,
    52: 184320, 60: 696320, 61: 696320, 62: 696320,
}  # fmt: skip
"""H.264's MaxDpbMbs by ``level_idc`` (ITU-T H.264 Table A-1; 9 is level 1b)."""
_FIXED_REFERENCE_SLOTS = {"vp9": 8, "av1": 8, "vp8": 3}
"""Reference slots a decoder of these codecs always keeps (VP8: last, golden, altref)."""


def max_video_pixels() -> int:
    """Largest video frame (width x height) vPDQ decodes, ``TANGKAL_HASH_MAX_VIDEO_PIXELS``:
    an upload over it is refused from its stream header, before decoding."""
    from tangkal.settings import get_settings

    return get_settings().hash_max_video_pixels


@dataclass(frozen=True, slots=True)
class VideoStream:
    """A video's first video stream as ffprobe reads it from the header and first frames."""

    codec: str
    width: int
    height: int
    level: int | None = None
    refs: int = 1
    reorder: int = 0
    """Frames the decoder holds back for reordering (B-frames), ffprobe's ``has_b_frames``."""

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def pictures(self) -> int:
        """Pictures the decoder keeps at once: its reference slots plus the reorder delay.

        H.264: the decoded picture buffer its level allows for this frame size
        (MaxDpbMbs / macroblocks a frame, at most 16; 16 when the level is unknown), or the
        stream's ``refs`` if more. VP9 and AV1 always keep 8 reference slots, VP8 3. Any
        other codec: 16 (H.264's and HEVC's most)."""
        slots = _FIXED_REFERENCE_SLOTS.get(self.codec)
        if slots is None and self.codec == "h264":
            mbs = ((self.width + 15) // 16) * ((self.height + 15) // 16)
            max_dpb = _H264_MAX_DPB_MBS.get(self.level or -1)
            slots = 16 if max_dpb is None or mbs == 0 else max(1, min(16, max_dpb // mbs))
            slots = max(slots, min(16, self.refs))
        if slots is None:
            slots = UNKNOWN_CODEC_PICTURES
        return slots + max(0, min(16, self.reorder))


def decode_bytes(stream: VideoStream) -> int:
    """Peak memory of hashing a video with vPDQ beside its bytes, from its stream header:
    ``VIDEO_BASE_BYTES + pixels x (2.4 x pictures + 4.5)`` bytes.

    Fitted to measurements, not derived: ``python3 -m bench.hashing.bench_video_memory``
    hashes ffmpeg ``testsrc2`` clips (30 frames a second) each in a fresh process and reports
    the growth of its peak resident set (``VmHWM``, reset just before hashing) over the
    resident set with tangkal, vpdq and the clip loaded. vpdq hashes on the decoding thread,
    so nothing queues up: a video's length does not matter, its frame size and the pictures
    its decoder keeps (:attr:`VideoStream.pictures`) do. Growth in MiB on 2026-12-03 (2 CPUs,
    vpdq 0.2.5, libavcodec 59), a first run (the fit's data) and a re-run of the bench with
    this estimate beside it (lower growth throughout; why was not established):

    ===================================  ========  =========  ========  ========
    clip                                 pictures  first run  re-run    estimate
    ===================================  ========  =========  ========  ========
    720p 10 s H.264 (level 3.1)          5         44         23        51
    1080p 10 s H.264 (level 4.0)         4         61         40        64
    1080p 30 s H.264                     4         61         40        64
    1080p H.264 16 refs, 3 B-frames      18        123        101       130
    1080p VP9 WebM                       8         67         46        83
    2160p 5 s H.264 (level 5.1)          5         154        133       167
    2160p H.264 16 refs, 3 B-frames      18        399        378       413
    ===================================  ========  =========  ========  ========

    A least-squares fit of ``base + frame x (a x pictures + b)`` (frame: width x height x
    1.5 bytes, YUV 4:2:0) gave base 29 MiB, a 1.59, b 2.58; the constants are that fit
    raised (base 36 MiB, a 1.6, b 3) so that the estimate is at or above every
    measurement (3 to 24% above the first run).

    What the header cannot bound: a stream may raise its reorder delay or carry a new
    sequence header (a larger frame) after the part ffprobe reads; libav's H.264 decoder then
    keeps at most 36 pictures, and a later frame size is not checked against the pixel
    limit. Only the number of hashing workers bounds how many such files decode at once."""
    return VIDEO_BASE_BYTES + math.ceil(
        stream.pixels * (PICTURE_BYTES_PER_PIXEL * stream.pictures + FIXED_BYTES_PER_PIXEL)
    )


def probe_video(content: bytes, kind: str) -> VideoStream | None:
    """The first video stream of ``content`` by ffprobe, run on a temporary file (MP4's index
    may be at its end, so a pipe will not do), reading at most :data:`PROBE_SIZE` bytes,
    within :data:`PROBE_TIMEOUT` seconds and :data:`PROBE_ADDRESS_SPACE` of address space.
    ``None`` when ffprobe cannot read a video stream with a frame size from it. Blocking:
    call it from a hashing thread (:func:`tangkal.hashing.budget.hash_upload` does), never on
    the event loop."""
    limit = ["prlimit", f"--as={PROBE_ADDRESS_SPACE}"] if shutil.which("prlimit") else []
    with tempfile.TemporaryDirectory(prefix="tangkal-probe-") as tmp:
        path = os.path.join(tmp, f"upload.{kind}")
        with open(path, "wb") as fh:
            fh.write(bytes(content))
        try:
            done = subprocess.run(
                [
                    *limit,
                    *("ffprobe", "-v", "error"),
                    *("-probesize", str(PROBE_SIZE), "-analyzeduration", str(PROBE_SIZE)),
                    *("-select_streams", "v:0", "-of", "json", "-show_entries"),
                    "stream=codec_name,width,height,refs,has_b_frames,level",
                    path,
                ],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=PROBE_TIMEOUT,
                check=False,
            )
        except (subprocess.TimeoutExpired, OSError):
            return None
    if done.returncode != 0:
        return None
    try:
        streams = json.loads(done.stdout).get("streams") or []
        s = streams[0]
        width, height = int(s["width"]), int(s["height"])
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return None
    if width <= 0 or height <= 0:
        return None
    level = s.get("level")
    return VideoStream(
        codec=str(s.get("codec_name") or "unknown"),
        width=width,
        height=height,
        level=level if isinstance(level, int) and level > 0 else None,
        refs=int(s.get("refs") or 1),
        reorder=int(s.get("has_b_frames") or 0),
    )


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
        """A video costs its bytes and its decoder, estimated from its stream header
        (:func:`probe_video`, :func:`decode_bytes`) before anything is decoded.

        Refused here: a video whose frame is over :func:`max_video_pixels` (TooLarge, 413),
        and an MP4 or WebM by its first bytes that ffprobe cannot read a video stream from
        (InvalidInput, 422: vpdq could not decode it either). Anything else, and any video
        where video hashing is not installed (nothing is decoded then), costs its bytes.
        Blocking (runs ffprobe): call it from a hashing thread."""
        kind = video_container(content)
        if kind is None or _vpdq() is None:
            return len(content)
        if shutil.which("ffprobe") is None:
            # vpdq without ffmpeg's tools (scripts/install-system-deps installs both): the
            # header cannot be read, so the largest frame allowed with 16 pictures is assumed
            worst = VideoStream("unknown", max_video_pixels(), 1, refs=16)
            return len(content) + decode_bytes(worst)
        stream = probe_video(content, kind)
        if stream is None:
            raise InvalidInput(
                Msg(
                    "The file starts as %(kind)s video but ffprobe cannot read a video stream "
                    "from it, so it is not a video that can be hashed; send the original file.",
                    kind=kind,
                ),
                field="file",
            )
        limit = max_video_pixels()
        if stream.pixels > limit:
            raise TooLarge(
                Msg(
                    "The video is %(w)sx%(h)s pixels a frame; an upload may be at most "
                    "%(limit)s pixels a frame (TANGKAL_HASH_MAX_VIDEO_PIXELS), so it was "
                    "refused before decoding.",
                    w=stream.width,
                    h=stream.height,
                    limit=limit,
                ),
                field="file",
            )
        return len(content) + decode_bytes(stream)

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
