"""Signal types: how a piece of content becomes a comparable signal, behind one small interface.

A *signal* is the string a bank stores and shares: a PDQ hash, an MD5 or SHA-256 digest, the
digest of a normalised text, or a MinHash signature of a text. Every type answers the same
questions (its name and the names exchanges give it, how to validate a signal someone sends
us, how to compute one from bytes, how far apart two signals are, which thresholds a bank may
set and which it gets by default, and which index finds its neighbours), so the bank, match,
index and import code never branches on a type's name, and a new type is one class plus one
``register``. The contract test (tests/unit/hashing/test_signal_contract.py) then checks it
end to end: hashing, indexing, matching through a bank, exchange round trips, persistence.

The registry is *checked*: a duplicate name or an implementation that is missing part of the
interface fails at start-up, not on the first request that happens to touch it.
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

from tangkal.errors import ConfigurationError, Conflict, InvalidInput, Msg, TooLarge
from tangkal.hashing import text as textnorm
from tangkal.hashing.signal_index import (
    ColumnLookup,
    MinHashSignalIndex,
    PdqSignalIndex,
    SignalIndex,
)

MAX_CONTENT_BYTES = 64 * 1024 * 1024
"""Largest content any signal type hashes. The HTTP layer enforces its own (smaller) upload
limit; this one protects library callers such as bulk importers."""


def max_image_pixels() -> int:
    """Largest image (width x height) PDQ decodes, ``TANGKAL_HASH_MAX_IMAGE_PIXELS``: beyond it
    decoding alone costs gigabytes (decompression bombs: a 62 KB grey PNG of 7999x7999 took
    1.65 GB and 15 s). Uploads over it are refused before decoding
    (:meth:`SignalType.working_bytes`); a library caller gets MD5 and SHA-256 only."""
    from tangkal.settings import get_settings

    return get_settings().hash_max_image_pixels


PDQ_MIN_QUALITY = 50
"""PDQ's own guidance: hashes of quality below 50 come from near-uniform images and match
unrelated content, so they are refused rather than stored or queried."""

Media = Literal["image", "file", "text", "video"]


@dataclass(frozen=True, slots=True)
class SignalResult:
    """The outcome of hashing one piece of content with one signal type.

    ``signal`` is ``None`` when the type could not hash the content; ``reason`` then says why in
    words a moderator can act on (not an image, too flat for PDQ, not UTF-8 text, ...). A result
    is never silently missing: the match answer lists every type with its reason.

    The reason is kept as a :class:`~tangkal.errors.Msg` (``why``), so the console shows it in
    the reader's language; ``reason`` is its English text, what the API answers.
    """

    signal_type: str
    signal: str | None
    quality: int | None = None
    extra: dict[str, str] = field(default_factory=dict)
    why: Msg | None = None

    @property
    def reason(self) -> str | None:
        """Why the type could not hash the content, in English (``None`` when it did)."""
        return self.why.text if self.why is not None else None

    @property
    def ok(self) -> bool:
        """True when a signal was computed."""
        return self.signal is not None


@dataclass(frozen=True, slots=True)
class Threshold:
    """One number a bank sets for a signal type, with its range, its default and what it means.

    A type declares its thresholds as a rule set (:attr:`SignalType.thresholds`); the bank
    table keeps one row per (bank, type, threshold name), a bank without a row gets
    ``default``, and the API, the HMA-compatible API and the console form list them from the
    type, so no code outside the type knows which numbers it has.

    ``loosens`` says which way lets more through: ``"up"`` for a largest distance (PDQ's bits),
    ``"down"`` for a smallest share (vPDQ's share of frames matched). The index is searched
    at the loosest value any bank asks for (:meth:`SignalType.widest`), then each bank's own
    values are applied to what it found (:meth:`SignalType.judge`).
    """

    name: str
    default: int
    min: int
    max: int
    label: Msg
    """A few words for the form's label, in the reader's language."""
    meaning: Msg
    """What the number means, for the form's help text."""
    loosens: Literal["up", "down"] = "up"

    def check(self, type_name: str, value: object) -> int:
        """``value`` if it is an integer within ``min..max``, else InvalidInput naming the
        threshold and its range."""
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidInput(
                Msg(
                    "threshold %(name)s for %(type)s must be an integer, got %(value)r",
                    name=self.name,
                    type=type_name,
                    value=value,
                ),
                field="threshold",
            )
        if not self.min <= value <= self.max:
            raise InvalidInput(
                Msg(
                    "threshold %(name)s for %(type)s must be between %(min)s and %(max)s, "
                    "got %(value)s",
                    name=self.name,
                    type=type_name,
                    min=self.min,
                    max=self.max,
                    value=value,
                ),
                field="threshold",
            )
        return value

    def loosest(self, values: Iterable[int]) -> int:
        """The value among ``values`` that lets the most through (the default when none)."""
        vals = list(values) or [self.default]
        return max(vals) if self.loosens == "up" else min(vals)


DISTANCE = "distance"
"""The name of a type's one threshold when it declares no rule set of its own."""


class SignalType(ABC):
    """The interface every signal type implements (see the module docstring).

    Class attributes:
        name: registry key, also the ``signal_type`` value of the HTTP API.
        media: which uploads it applies to: ``image`` (decodable pictures), ``video`` (MP4 and
            WebM), ``file`` (any bytes) or ``text`` (UTF-8 messages).
        default_threshold: largest distance that still counts as a match for a bank that does
            not set its own (the one default of the API, the console and the table).
        min_threshold, max_threshold: the range a bank may set. ``max_threshold`` is also the
            radius the index is searched with, so a bank can never ask for more than the index
            looks at (PDQ: 64 of 256 bits); exact types have 0..0.
        max_distance: largest distance :meth:`distance` can return.
        index_cls: the :class:`~tangkal.hashing.signal_index.SignalIndex` that finds stored
            signals near a query (threatexchange's ``get_index_cls``).
        aliases: other names exchanges (ThreatExchange, HMA) use for this type; accepted on
            import.
        exchange_name: what threatexchange 1.2 and HMA call this type
            (``SignalType.get_name()``: ``video_md5`` for ``md5``), written by exports and the
            HMA-compatible API; ``None`` when it is the type's own ``name`` (``pdq``) or when
            threatexchange has no such type (``text``).
        tat_algorithms: Tech Against Terrorism's ``algorithm`` values for it (first: export).
        threshold_field: the bank API's historic per-type field (``pdq_threshold``), kept as a
            view of the threshold table (the type's first threshold).
        thresholds: the rule set a bank sets (:class:`Threshold`), the first being the one
            the index is searched with; a type that declares none has one, ``distance``, from
            ``default_threshold``, ``min_threshold`` and ``max_threshold``.
    """

    name: ClassVar[str]
    media: ClassVar[Media]
    default_threshold: ClassVar[int]
    max_distance: ClassVar[int]
    min_threshold: ClassVar[int] = 0
    max_threshold: ClassVar[int] = 0
    index_cls: ClassVar[type[SignalIndex]] = ColumnLookup
    aliases: ClassVar[tuple[str, ...]] = ()
    tat_algorithms: ClassVar[tuple[str, ...]] = ()
    exchange_name: ClassVar[str | None] = None
    threshold_field: ClassVar[str | None] = None
    very_close: ClassVar[int] = 0
    """Distances up to this read as "very close" to a moderator (the same item re-encoded)."""
    description: ClassVar[str] = ""
    thresholds: ClassVar[tuple[Threshold, ...]] = ()

    @property
    def rules(self) -> tuple[Threshold, ...]:
        """The thresholds a bank sets for this type, in order (see :attr:`thresholds`)."""
        if self.thresholds:
            return self.thresholds
        return (
            Threshold(
                DISTANCE,
                self.default_threshold,
                self.min_threshold,
                self.max_threshold,
                Msg("Largest distance"),
                Msg("The largest distance between two signals that still counts as a match."),
            ),
        )

    def default_rules(self) -> dict[str, int]:
        """Every threshold at the type's default: what a bank without rows gets."""
        return {r.name: r.default for r in self.rules}

    def check_rules(self, values: Mapping[str, object]) -> dict[str, int]:
        """Thresholds a bank asks for, by name (some or all), each within its range; an
        unknown name is refused with the names the type has."""
        known = {r.name: r for r in self.rules}
        out: dict[str, int] = {}
        for name, value in values.items():
            rule = known.get(name)
            if rule is None:
                raise InvalidInput(
                    Msg(
                        "%(type)s has no threshold %(name)r; its thresholds: %(known)s",
                        type=self.name,
                        name=name,
                        known=", ".join(known),
                    ),
                    field="thresholds",
                )
            out[name] = rule.check(self.name, value)
        return out

    def widest(self, rule_sets: Iterable[Mapping[str, int]]) -> dict[str, int]:
        """The loosest value of each threshold over some banks' rule sets: what the index is
        searched with, so that every bank's matches are among the candidates."""
        sets = list(rule_sets)
        return {r.name: r.loosest(s.get(r.name, r.default) for s in sets) for r in self.rules}

    def candidates(self, index: SignalIndex, signal: str, widest: Mapping[str, int]) -> list[Any]:
        """Stored signals near ``signal`` under the loosest rules (:meth:`widest`), each with
        an ``id`` and a ``distance`` (the index's own answer), for :meth:`judge`. By default
        the index is searched within the first threshold."""
        return list(index.search(signal, widest[self.rules[0].name]))

    def judge(self, match: Any, rules: Mapping[str, int]) -> int | None:
        """The distance of a candidate (from :meth:`candidates`) under one bank's rules, or
        ``None`` when they refuse it. By default: within the first threshold."""
        first = self.rules[0]
        limit = rules.get(first.name, first.default)
        return int(match.distance) if match.distance <= limit else None

    @property
    def te_name(self) -> str:
        """The name exchange files and HMA clients know this type by."""
        return self.exchange_name or self.name

    @property
    def exact(self) -> bool:
        """Only identical signals match (no threshold to choose)."""
        return self.max_threshold == 0

    def new_index(self) -> SignalIndex:
        """An empty index of this type's class."""
        return self.index_cls()

    def query_variants(self, content: bytes, result: SignalResult) -> list[str]:
        """The signals to look up for an upload this type hashed as ``result``: the signal
        itself, and for types that catch transformed copies on the query side (PDQ's
        rotations and mirrors) the variants too."""
        return [result.signal] if result.signal else []

    def closeness(self, distance: int, threshold: int | None = None) -> int:
        """How alike a match is, 0..100, for a moderator's eye (100: identical)."""
        if distance <= 0:
            return 100
        limit = max(1, self.default_threshold if threshold is None else threshold)
        return max(0, round(100 * (1 - distance / (2 * limit))))

    def working_bytes(self, content: bytes) -> int:
        """Memory that hashing ``content`` takes at its peak, estimated before any work is done,
        so that uploads are admitted against a memory budget (:mod:`tangkal.hashing.budget`);
        raises :class:`~tangkal.errors.TooLarge` for content this type refuses to decode at
        all. By default the content itself (digests stream over the bytes)."""
        return len(content)

    @abstractmethod
    def validate(self, signal: str) -> str:
        """Return the canonical form of a signal given by a caller, or raise InvalidInput."""

    @abstractmethod
    def hash_bytes(self, content: bytes) -> SignalResult:
        """Compute the signal of some content, or a result with ``reason`` when it cannot."""

    @abstractmethod
    def distance(self, a: str, b: str) -> int:
        """Distance between two *validated* signals; 0 means identical."""

    def compare(self, a: str, b: str, rules: Mapping[str, int] | None = None) -> Comparison:
        """``a`` (the query) against ``b`` (the stored signal) under a rule set (default: the
        type's own), decided by :meth:`judge` as a bank lookup decides (threatexchange's
        ``compare_hash``, which HMA's ``/m/compare`` answers with). By default a candidate at
        :meth:`distance`; a type whose rule needs more than one distance overrides this."""
        wanted = {**self.default_rules(), **(rules or {})}
        d = self.distance(a, b)
        return Comparison(self.judge(_Pair(0, d), wanted) is not None, d)

    def matches(self, a: str, b: str, rules: Mapping[str, int] | None = None) -> bool:
        """Whether ``a`` (the query) matches ``b`` (the stored signal) under a rule set
        (default: the type's own), as a bank lookup would decide."""
        return self.compare(a, b, rules).matched

    def check_threshold(self, threshold: int) -> int:
        """Validate a bank's value of the type's first threshold (the historic per-type
        field): within its range, so no bank can ask for matches its index never searches
        for."""
        return self.rules[0].check(self.name, threshold)

    # Shared helpers -----------------------------------------------------------------------
    def _check_content(self, content: bytes) -> None:
        if not isinstance(content, bytes | bytearray | memoryview):
            raise InvalidInput(f"content must be bytes, got {type(content).__name__}")
        if len(content) == 0:
            raise InvalidInput(Msg("the upload is empty: send the file's bytes"), field="file")
        if len(content) > MAX_CONTENT_BYTES:
            raise TooLarge(
                Msg(
                    "the upload is %(size)s bytes; the limit is %(limit)s bytes",
                    size=len(content),
                    limit=MAX_CONTENT_BYTES,
                ),
                field="file",
            )

    def _not_hashed(self, reason: Msg, **kw: int | None) -> SignalResult:
        return SignalResult(self.name, None, quality=kw.get("quality"), why=reason)


@dataclass(frozen=True, slots=True)
class Comparison:
    """Two signals compared by their type's own rule (:meth:`SignalType.compare`)."""

    matched: bool
    """Whether the query matches the stored signal under the rule set compared with."""
    distance: int
    """:meth:`SignalType.distance` on the type's scale (0: identical)."""
    figures: Mapping[str, float] = field(default_factory=dict)
    """What else the type's rule looked at, by the names threatexchange gives them (vPDQ:
    ``query_match_percent`` and ``compared_match_percent``); empty for one-distance types."""


@dataclass(frozen=True, slots=True)
class _Pair:
    """A candidate of one comparison (what :meth:`SignalType.matches` judges)."""

    id: int
    distance: int


_HEX = re.compile(r"[0-9a-f]*")


def _validate_hex(type_name: str, signal: object, hex_chars: int, what: str | Msg) -> str:
    """Canonical lower-case hex of exactly ``hex_chars`` digits, or InvalidInput saying what is
    wrong with it (type, length or a non-hex character)."""
    if not isinstance(signal, str):
        raise InvalidInput(
            Msg(
                "a %(type)s signal must be a string of %(n)s hex digits, got %(got)s",
                type=type_name,
                n=hex_chars,
                got=type(signal).__name__,
            ),
            field="signal",
        )
    s = signal.strip().lower()
    if s.startswith("0x"):
        s = s[2:]
    if len(s) != hex_chars:
        raise InvalidInput(
            Msg(
                "a %(type)s signal is %(n)s hexadecimal characters (%(what)s); got "
                "%(got)s characters",
                type=type_name,
                n=hex_chars,
                what=what,
                got=len(s),
            ),
            field="signal",
        )
    if not _HEX.fullmatch(s):
        bad = next(ch for ch in s if ch not in "0123456789abcdef")
        raise InvalidInput(
            Msg(
                "a %(type)s signal may contain only 0-9 and a-f; found %(bad)r",
                type=type_name,
                bad=bad,
            ),
            field="signal",
        )
    return s


# --- PDQ ---------------------------------------------------------------------------------------


def pdq_bits_to_hex(bits: np.ndarray) -> str:
    """Hex of a 256-element 0/1 vector in pdqhash's bit order (first bit = most significant)."""
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex()


def pdq_hamming(a: str, b: str) -> int:
    """Hamming distance of two 64-hex-digit PDQ hashes."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


DIHEDRAL_NAMES = (
    "original",
    "rotate90",
    "rotate180",
    "rotate270",
    "flip_x",
    "flip_y",
    "flip_plus",
    "flip_minus",
)
"""Names of the 8 variants pdqhash derives from one DCT (PDQ reference naming), in its order.
They are computed by flipping DCT coefficient signs, which is exact only for images whose
64x64 downsample is itself symmetric under the transform; fine textures lose it."""

MIRROR_PIXELS = "mirror_pixels"
"""Name of the extra query variant hashed from the left-right mirrored pixels."""


class PdqSignal(SignalType):
    """Meta's PDQ perceptual hash for images (256 bits, Hamming distance).

    Banks store the hash of the image as it was reported. Mirrored and 90-degree-rotated copies
    are caught on the *query* side: :meth:`hash_dihedral` gives the 8 dihedral variants of an
    upload and the matcher looks each one up. That keeps the index at one row per banked image
    (10 million, not 80 million) at the price of 8 lookups per uploaded image, which is cheap next
    to decoding and hashing the image itself (about 7 ms).
    """

    name = "pdq"
    media = "image"
    default_threshold = 31
    max_distance = 256
    max_threshold = 64
    """The radius the PDQ index is searched with; past it a threshold would silently never
    match (and PDQ's own guidance puts copies well inside it)."""
    index_cls = PdqSignalIndex
    aliases = ("photo_pdq",)
    tat_algorithms = ("PDQ",)
    threshold_field = "pdq_threshold"
    very_close = 10
    description = "PDQ perceptual image hash (256-bit, Hamming distance)"
    thresholds = (
        Threshold(
            DISTANCE,
            default_threshold,
            0,
            max_threshold,
            Msg("Bits that may differ"),
            Msg(
                "How many of PDQ's 256 bits may differ for two images to match: PDQ's "
                "guidance is 31; at most 64, the radius the index searches."
            ),
        ),
    )

    def query_variants(self, content: bytes, result: SignalResult) -> list[str]:
        """The upload's hash and its rotated and mirrored variants (:meth:`hash_dihedral`):
        banks keep one hash per image, the query side pays for the 8 lookups."""
        out = super().query_variants(content, result)
        if out:
            for _, variant in self.hash_dihedral(content):
                if variant.signal and variant.signal not in out:
                    out.append(variant.signal)
        return out

    def closeness(self, distance: int, threshold: int | None = None) -> int:
        """Bits alike out of the index's radius (64)."""
        return max(0, round(100 * (1 - max(0, distance) / self.max_threshold)))

    def validate(self, signal: str) -> str:
        return _validate_hex(self.name, signal, 64, Msg("%(n)s bits", n=256))

    def distance(self, a: str, b: str) -> int:
        return pdq_hamming(a, b)

    def working_bytes(self, content: bytes) -> int:
        """From the image's header only (Pillow's ``Image.open`` is lazy: nothing is decoded):
        width x height x (the decoded frame's bands + 8 for the RGB(A) conversion, the array
        handed to pdqhash and the mirrored copy). An image over ``max_image_pixels()`` is
        refused here, before decoding; content that is not an image costs its own bytes."""
        from PIL import Image, UnidentifiedImageError

        limit = max_image_pixels()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                with Image.open(io.BytesIO(content)) as opened:
                    w, h = opened.size
                    bands = len(opened.getbands())
        except Image.DecompressionBombError:
            raise TooLarge(
                Msg(
                    "The image is larger than %(limit)s pixels, the largest an upload may "
                    "be (TANGKAL_HASH_MAX_IMAGE_PIXELS); it was refused before decoding.",
                    limit=limit,
                ),
                field="file",
            ) from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            return len(content)
        if w * h > limit:
            raise TooLarge(
                Msg(
                    "The image is %(w)sx%(h)s pixels; an upload may be at most %(limit)s "
                    "pixels (TANGKAL_HASH_MAX_IMAGE_PIXELS), so it was refused before decoding.",
                    w=w,
                    h=h,
                    limit=limit,
                ),
                field="file",
            )
        return len(content) + w * h * (bands + 8)

    def _decode(self, content: bytes) -> tuple[np.ndarray | None, Msg | None]:
        """Decode an image to an RGB array, or say why not (the caller falls back to MD5/SHA)."""
        from PIL import Image, ImageOps, UnidentifiedImageError

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(io.BytesIO(content)) as opened:
                    w, h = opened.size
                    limit = max_image_pixels()
                    if w * h > limit:
                        return None, Msg(
                            "the image is %(w)sx%(h)s pixels; PDQ hashes images up to "
                            "%(limit)s pixels, so only MD5/SHA-256 were computed",
                            w=w,
                            h=h,
                            limit=limit,
                        )
                    opened.seek(0)  # first frame of an animation
                    im: Image.Image = ImageOps.exif_transpose(opened) or opened
                    if im.mode in ("RGBA", "LA", "P", "PA"):
                        im = im.convert("RGBA")
                        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
                        im = Image.alpha_composite(bg, im)
                    rgb = np.asarray(im.convert("RGB"))
        except (
            UnidentifiedImageError,
            Image.DecompressionBombError,
            Image.DecompressionBombWarning,
        ) as exc:
            if isinstance(exc, UnidentifiedImageError):
                return None, Msg(
                    "not a decodable image (no known image format), so PDQ was not computed"
                )
            return None, Msg(
                "the image is too large to decode safely (%(error)s), so PDQ was not computed",
                error=str(exc),
            )
        except (OSError, ValueError, SyntaxError) as exc:
            return None, Msg(
                "the image could not be decoded (%(error)s), so PDQ was not computed",
                error=str(exc),
            )
        if rgb.shape[0] < 2 or rgb.shape[1] < 2:
            return None, Msg("the image is smaller than 2x2 pixels, too small for PDQ")
        return np.ascontiguousarray(rgb), None

    def hash_bytes(self, content: bytes) -> SignalResult:
        self._check_content(content)
        rgb, reason = self._decode(content)
        if rgb is None:
            return self._not_hashed(reason or Msg("not a decodable image"))
        return self.hash_array(rgb)

    def hash_array(self, rgb: np.ndarray) -> SignalResult:
        """Hash an already-decoded HxWx3 uint8 image (tests and in-process callers)."""
        import pdqhash

        bits, quality = pdqhash.compute(_as_rgb(rgb))
        return self._result(bits, int(quality))

    def _result(self, bits: np.ndarray, quality: int) -> SignalResult:
        if quality < PDQ_MIN_QUALITY:
            return self._not_hashed(
                Msg(
                    "PDQ quality %(quality)s is below %(minimum)s: the image is too flat or "
                    "uniform for a reliable perceptual hash, so it is matched by MD5/SHA-256 "
                    "only",
                    quality=quality,
                    minimum=PDQ_MIN_QUALITY,
                ),
                quality=quality,
            )
        return SignalResult(self.name, pdq_bits_to_hex(bits), quality=quality)

    def hash_dihedral(
        self, content: bytes | np.ndarray, *, pixel_mirror: bool = True
    ) -> list[tuple[str, SignalResult]]:
        """Query-side variants of an image: the 8 dihedral hashes (rotations by 90 degrees and
        mirrors, named as in :data:`DIHEDRAL_NAMES`) and, with ``pixel_mirror``, the hash of the
        left-right mirrored pixels (:data:`MIRROR_PIXELS`).

        The DCT-derived dihedral hashes are nearly free but miss mirrored copies of fine
        textures (measured in tests/unit/hashing/test_pdq_photos.py); mirroring is the most
        common evasion, so one real extra hash of the mirrored pixels closes that gap for one
        more PDQ computation.
        """
        import pdqhash

        if isinstance(content, np.ndarray):
            rgb: np.ndarray | None = content
        else:
            self._check_content(content)
            rgb, reason = self._decode(content)
            if rgb is None:
                return [("original", self._not_hashed(reason or Msg("not a decodable image")))]
        assert rgb is not None
        rgb = _as_rgb(rgb)
        hashes, quality = pdqhash.compute_dihedral(rgb)
        out = [
            (n, self._result(bits, int(quality)))
            for n, bits in zip(DIHEDRAL_NAMES, hashes, strict=True)
        ]
        if pixel_mirror:
            bits, mq = pdqhash.compute(np.ascontiguousarray(rgb[:, ::-1]))
            out.append((MIRROR_PIXELS, self._result(bits, int(mq))))
        return out


def _as_rgb(img: np.ndarray) -> np.ndarray:
    """pdqhash wants a contiguous HxWx3 uint8 array; accept grey and RGBA too."""
    arr = np.asarray(img)
    if arr.dtype != np.uint8:
        if arr.dtype.kind == "f" and arr.max(initial=0) <= 1.0:
            arr = arr * 255.0
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    if arr.ndim == 2:
        arr = np.stack([arr, arr, arr], axis=-1)
    elif arr.ndim == 3 and arr.shape[2] == 4:
        arr = arr[:, :, :3]
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise InvalidInput(f"an image array must be HxW, HxWx3 or HxWx4, got shape {arr.shape}")
    return np.ascontiguousarray(arr)


# --- Cryptographic digests ---------------------------------------------------------------------


class _DigestSignal(SignalType):
    """Exact file identity by a cryptographic digest; distance is 0 (same) or 1 (different)."""

    media = "file"
    default_threshold = 0
    max_distance = 1
    _algorithm: ClassVar[str]
    _hex_chars: ClassVar[int]

    def validate(self, signal: str) -> str:
        return _validate_hex(
            self.name, signal, self._hex_chars, Msg("%(n)s bits", n=self._hex_chars * 4)
        )

    def hash_bytes(self, content: bytes) -> SignalResult:
        self._check_content(content)
        return SignalResult(self.name, hashlib.new(self._algorithm, bytes(content)).hexdigest())

    def distance(self, a: str, b: str) -> int:
        return 0 if a == b else 1


class Md5Signal(_DigestSignal):
    """MD5 of the file bytes: what most hash-sharing lists (HMA, TAT) exchange for video/files."""

    name = "md5"
    aliases = ("video_md5", "photo_md5")
    exchange_name = "video_md5"
    tat_algorithms = ("MD5",)
    description = "MD5 digest of the file bytes (exact copies)"
    _algorithm = "md5"
    _hex_chars = 32


class Sha256Signal(_DigestSignal):
    """SHA-256 of the file bytes: exact copies, without MD5's chosen-collision weakness."""

    name = "sha256"
    aliases = ("video_sha256", "photo_sha256")
    exchange_name = "video_sha256"
    tat_algorithms = ("SHA256", "SHA-256")
    description = "SHA-256 digest of the file bytes (exact copies)"
    _algorithm = "sha256"
    _hex_chars = 64


# --- Text --------------------------------------------------------------------------------------


def _decode_text(content: bytes) -> tuple[str | None, Msg | None]:
    try:
        return bytes(content).decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        return None, Msg(
            "not UTF-8 text (invalid byte at offset %(offset)s), so no text signal",
            offset=exc.start,
        )


class TextSignal(SignalType):
    """Exact text match after normalisation (:func:`tangkal.hashing.text.normalise`).

    The signal is the SHA-256 of the canonical text, so banks can be exchanged without the
    messages themselves. Use :meth:`hash_text` for a message held as ``str``.
    """

    name = "text"
    media = "text"
    default_threshold = 0
    max_distance = 1
    description = "SHA-256 of the normalised message (case, Unicode, URLs, mentions, emoji)"

    def validate(self, signal: str) -> str:
        return _validate_hex(self.name, signal, 64, Msg("SHA-256 of the normalised text"))

    def hash_text(self, message: str) -> SignalResult:
        """Signal of a message; refused when nothing is left after normalisation."""
        canonical = textnorm.normalise(message)
        if not canonical:
            return self._not_hashed(
                Msg("nothing is left after normalisation (only emoji, mentions or punctuation)")
            )
        return SignalResult(self.name, hashlib.sha256(canonical.encode("utf-8")).hexdigest())

    def hash_bytes(self, content: bytes) -> SignalResult:
        self._check_content(content)
        message, reason = _decode_text(content)
        if message is None:
            return self._not_hashed(reason or Msg("not text"))
        return self.hash_text(message)

    def distance(self, a: str, b: str) -> int:
        return 0 if a == b else 1


class TextNearSignal(SignalType):
    """Near-duplicate text: MinHash over character 5-grams of the normalised message.

    The signal is 64 slots of 32 bits (512 hex digits). The distance is the number of slots that
    differ, so ``1 - distance/64`` estimates the Jaccard similarity of the two shingle sets. The
    default threshold of 38 (Jaccard about 0.4 and above) catches forwards with an added line,
    changed punctuation or a few edited words, while unrelated messages in the same language
    share almost no slots (measured in tests/unit/hashing/test_text_near.py).
    """

    name = "text_near"
    media = "text"
    default_threshold = 38
    max_distance = textnorm.MINHASH_SLOTS
    max_threshold = textnorm.MINHASH_SLOTS
    index_cls = MinHashSignalIndex
    threshold_field = "text_threshold"
    very_close = 10
    description = "MinHash of character 5-grams of the normalised message (near-duplicates)"
    thresholds = (
        Threshold(
            DISTANCE,
            default_threshold,
            0,
            max_threshold,
            Msg("Slots that may differ"),
            Msg(
                "How many of the 64 MinHash slots may differ for two messages to match: 38 "
                "(about 40 per cent of their 5-letter pieces shared) catches forwards with a line "
                "added or a few words edited."
            ),
        ),
    )
    min_chars: ClassVar[int] = 20
    """Messages shorter than this after normalisation are too short for near matching (any two
    short greetings would look alike); they are still matched exactly by ``text``."""

    def validate(self, signal: str) -> str:
        return _validate_hex(
            self.name,
            signal,
            textnorm.MINHASH_SLOTS * 8,
            Msg("%(n)s MinHash slots", n=textnorm.MINHASH_SLOTS),
        )

    def hash_text(self, message: str) -> SignalResult:
        """Signal of a message held as ``str``."""
        canonical = textnorm.normalise(message)
        if len(canonical) < self.min_chars:
            return self._not_hashed(
                Msg(
                    "the normalised message has %(n)s characters; near-duplicate matching "
                    "needs at least %(minimum)s (exact text matching still applies)",
                    n=len(canonical),
                    minimum=self.min_chars,
                )
            )
        return SignalResult(self.name, textnorm.signature_to_hex(textnorm.minhash(canonical)))

    def hash_bytes(self, content: bytes) -> SignalResult:
        self._check_content(content)
        message, reason = _decode_text(content)
        if message is None:
            return self._not_hashed(reason or Msg("not text"))
        return self.hash_text(message)

    def distance(self, a: str, b: str) -> int:
        sa = textnorm.signature_from_hex(a)
        sb = textnorm.signature_from_hex(b)
        return int(np.count_nonzero(sa != sb))


# --- Registry ----------------------------------------------------------------------------------

_REQUIRED_METHODS = ("validate", "hash_bytes", "distance")
_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")


class SignalRegistry:
    """The set of signal types a process knows, checked when each type is registered."""

    def __init__(self) -> None:
        self._types: dict[str, SignalType] = {}
        self._aliases: dict[str, str] = {}  # exchange name -> registered name
        self._tat: dict[str, str] = {}  # TAT algorithm (upper case) -> registered name

    def register(self, signal_type: SignalType) -> SignalType:
        """Add a signal type; fails loudly on a duplicate name or an incomplete implementation."""
        name = getattr(signal_type, "name", None)
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ConfigurationError(
                f"signal type {type(signal_type).__name__} needs a `name` of lower-case letters, "
                f"digits and underscores (at most 32), got {name!r}"
            )
        if name in self._types:
            raise Conflict(
                f"a signal type named {name!r} is already registered "
                f"({type(self._types[name]).__name__}); choose another name"
            )
        missing = [m for m in _REQUIRED_METHODS if not callable(getattr(signal_type, m, None))]
        if isinstance(signal_type, ABC) and getattr(type(signal_type), "__abstractmethods__", None):
            missing += sorted(type(signal_type).__abstractmethods__)
        for attr, kind in (("default_threshold", int), ("max_distance", int), ("media", str)):
            value = getattr(signal_type, attr, None)
            if not isinstance(value, kind) or isinstance(value, bool):
                missing.append(f"{attr} ({kind.__name__})")
        if missing:
            raise ConfigurationError(
                f"signal type {name!r} is incomplete: missing or wrong {', '.join(missing)}"
            )
        if signal_type.media not in ("image", "file", "text", "video"):
            raise ConfigurationError(
                f"signal type {name!r} has media {signal_type.media!r}; use image, file, text "
                "or video"
            )
        lo, hi = signal_type.min_threshold, signal_type.max_threshold
        if not 0 <= lo <= signal_type.default_threshold <= hi <= signal_type.max_distance:
            raise ConfigurationError(
                f"signal type {name!r}: default_threshold {signal_type.default_threshold} is "
                f"outside its thresholds {lo}..{hi} (at most max_distance "
                f"{signal_type.max_distance})"
            )
        names: set[str] = set()
        for rule in signal_type.rules:
            if not isinstance(rule, Threshold) or not _NAME.fullmatch(rule.name):
                raise ConfigurationError(
                    f"signal type {name!r}: thresholds must be Threshold rules named in "
                    f"lower-case letters, digits and underscores, got {rule!r}"
                )
            if rule.name in names or not rule.min <= rule.default <= rule.max:
                raise ConfigurationError(
                    f"signal type {name!r}: threshold {rule.name!r} is named twice or its "
                    f"default {rule.default} is outside {rule.min}..{rule.max}"
                )
            names.add(rule.name)
        index_cls = getattr(signal_type, "index_cls", None)
        if not (isinstance(index_cls, type) and issubclass(index_cls, SignalIndex)):
            raise ConfigurationError(
                f"signal type {name!r}: index_cls must be a SignalIndex class, got {index_cls!r}"
            )
        if index_cls.in_database and hi != 0:
            raise ConfigurationError(
                f"signal type {name!r} is looked up by equality in the database but accepts "
                f"thresholds up to {hi}: give it a near-neighbour index or max_threshold 0"
            )
        te_name = signal_type.exchange_name
        if te_name is not None and te_name != name and te_name not in signal_type.aliases:
            raise ConfigurationError(
                f"signal type {name!r}: exchange_name {te_name!r} must also be one of its aliases"
            )
        for alias in (*signal_type.aliases, *(a.lower() for a in signal_type.tat_algorithms)):
            owner = self._aliases.get(alias)
            if alias in self._types or (owner is not None and owner != name):
                raise Conflict(f"signal type {name!r}: the alias {alias!r} is already taken")
        self._types[name] = signal_type
        for alias in signal_type.aliases:
            self._aliases[alias] = name
        for algorithm in signal_type.tat_algorithms:
            self._tat[algorithm.upper()] = name
        return signal_type

    def get(self, name: str) -> SignalType:
        """The signal type called ``name``, or InvalidInput listing the known ones."""
        key = name.strip().lower() if isinstance(name, str) else name
        if isinstance(key, str):
            key = self._aliases.get(key, key)
        st = self._types.get(key) if isinstance(key, str) else None
        if st is None:
            raise InvalidInput(
                Msg(
                    "unknown signal type %(name)r; known types: %(known)s",
                    name=name,
                    known=", ".join(self.names()),
                ),
                field="signal_type",
            )
        return st

    def for_tat(self, algorithm: str) -> SignalType | None:
        """The type Tech Against Terrorism calls ``algorithm`` (``None`` when none is)."""
        name = self._tat.get(algorithm.strip().upper())
        return self._types[name] if name else None

    def tat_algorithms(self) -> list[str]:
        """Every TAT algorithm name some registered type answers to."""
        return list(self._tat)

    def names(self) -> list[str]:
        """Registered names in registration order."""
        return list(self._types)

    def for_media(self, *media: Media) -> list[SignalType]:
        """Types that apply to the given kinds of upload (e.g. ``"image", "file"`` for a file)."""
        return [t for t in self._types.values() if t.media in media]

    def __contains__(self, name: object) -> bool:
        return name in self._types

    def __iter__(self) -> Iterator[SignalType]:
        return iter(list(self._types.values()))

    def __len__(self) -> int:
        return len(self._types)


def default_registry() -> SignalRegistry:
    """A fresh registry holding the built-in types (pdq, md5, sha256, text, text_near, and
    vpdq from :mod:`tangkal.hashing.video`)."""
    from tangkal.hashing.video import VpdqSignal

    reg = SignalRegistry()
    for st in (
        PdqSignal(),
        Md5Signal(),
        Sha256Signal(),
        TextSignal(),
        TextNearSignal(),
        VpdqSignal(),
    ):
        reg.register(st)
    return reg


REGISTRY = default_registry()
"""The process-wide registry. Plugins register into it at import time."""


def get(name: str) -> SignalType:
    """Shorthand for ``REGISTRY.get(name)``."""
    return REGISTRY.get(name)


def hash_file(content: bytes, registry: SignalRegistry | None = None) -> list[SignalResult]:
    """Every file-level signal (image, video and file types) of an upload, each with its reason
    when it could not be computed: a file that is not an image still gets MD5 and SHA-256."""
    reg = registry or REGISTRY
    return [st.hash_bytes(content) for st in reg.for_media("image", "video", "file")]
