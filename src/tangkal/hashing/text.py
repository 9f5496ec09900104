"""Text normalisation and MinHash signatures for messages in Indonesian and English.

Propaganda and hoaxes travel as forwarded chat messages. Each hop changes the surface:
"Forwarded from @channel" or "Diteruskan dari ..." headers, emoji added, a link with a
different tracking parameter, letter case, full-width or styled Unicode letters, doubled
punctuation. None of that changes what the message *is*, so both text signal types first
reduce a message to a canonical form:

* Unicode NFKC (styled letters such as mathematical bold fold to plain ones) and case folding;
* forward headers ("Forwarded from ...", "Diteruskan dari ...") removed when they are a short line
  of their own, and "Fwd:"/"Fw:"/"Re:" prefixes removed;
* URLs reduced to host and path (scheme, ``www.``, query string and fragment dropped), because
  the *target* of a link matters (a t.me channel) but its tracking parameters do not;
* @mentions removed (each hop re-attributes), emoji and other pictographs removed;
* punctuation dropped and whitespace collapsed, leaving words separated by single spaces.

On top of the canonical form, :func:`minhash` gives a fixed-length signature whose slot-wise
agreement estimates the Jaccard similarity of character 5-gram sets, so near-duplicates (an
added line, a changed word, a typo) stay close while unrelated messages do not.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

import numpy as np

# A whole line that only says where the message came from ("Forwarded from @kanal",
# "Diteruskan dari grup RT 05", "[Forwarded message]"). Only short lines count, so a message
# that merely *starts* with "Forwarded ..." keeps its content.
_FORWARD_HEADER = re.compile(
    r"^\s*\[?\s*(?:forwarded(?:\s+message)?(?:\s+from)?|(?:pesan\s+)?diteruskan(?:\s+dari)?|"
    r"pesan\s+berantai|copas(?:\s+dari)?|dari\s+grup\s+sebelah)\b[^\n]{0,48}$",
    re.IGNORECASE,
)
# "Fwd:" / "Fw:" / "Re:" prefixes at the start of a line: dropped, the rest of the line kept.
_FORWARD_PREFIX = re.compile(r"^\s*(?:(?:fwd?|fw|re)\s*:\s*)+", re.IGNORECASE | re.MULTILINE)
_URL = re.compile(
    r"(?:(?:https?|ftp)://|www\.)[^\s<>\"']+|\b(?:t\.me|telegram\.me|bit\.ly|wa\.me)/[^\s<>\"']*",
    re.IGNORECASE,
)
_MENTION = re.compile(r"(?<![\w@])@[\w.]{2,64}")
_HASHTAG = re.compile(r"(?<![\w#])#(\w+)")
# Zero-width joiners, variation selectors and skin-tone modifiers that glue emoji together.
_EMOJI_GLUE = {0x200D, 0xFE0E, 0xFE0F, 0x20E3} | set(range(0x1F3FB, 0x1F400))
_WORD = re.compile(r"\w+", re.UNICODE)

SHINGLE = 5
"""Character n-gram length of the near-duplicate shingles: long enough that unrelated texts in
the same language share few of them, short enough that one changed word only spoils a few."""


def _strip_emoji(text: str) -> str:
    """Drop pictographs (Unicode category So), private-use and unassigned code points."""
    out = []
    for ch in text:
        cp = ord(ch)
        if cp in _EMOJI_GLUE or 0xE0020 <= cp <= 0xE007F:  # tag characters (flag sequences)
            continue
        if unicodedata.category(ch) in {"So", "Co", "Cn", "Cs"}:
            continue
        out.append(ch)
    return "".join(out)


def _url_core(match: re.Match[str]) -> str:
    """Reduce a URL to ``host/path``: keep the target, drop scheme, www, query and fragment."""
    url = match.group(0).casefold()
    url = re.sub(r"^(?:https?|ftp)://", "", url)
    url = re.sub(r"^www\.", "", url)
    url = re.split(r"[?#]", url, maxsplit=1)[0]
    url = url.rstrip("/.,;:!)")
    # Keep URL tokens together through the punctuation step below.
    return " " + re.sub(r"[^\w]+", "_", url) + " "


def normalise(text: str) -> str:
    """Return the canonical form of a message (see the module docstring for each step).

    The result may be empty (a message of only emoji and mentions); callers decide whether an
    empty canonical form is hashable.
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _FORWARD_PREFIX.sub("", text)
    lines = [
        line
        for line in text.splitlines()
        if not (_FORWARD_HEADER.match(line) and len(line.split()) <= 8)
    ]
    text = "\n".join(lines)
    text = _URL.sub(_url_core, text)
    text = _MENTION.sub(" ", text)
    text = _HASHTAG.sub(r"\1", text)
    text = _strip_emoji(text)
    return " ".join(_WORD.findall(text))


def exact_digest(text: str) -> str:
    """SHA-256 hex of the canonical form: what banks store for the ``text`` signal type,
    so that a bank can be shared without sharing the message itself."""
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()


# --- MinHash -----------------------------------------------------------------------------------

MINHASH_SLOTS = 64
"""Signature length. 64 slots estimate Jaccard to about +/-0.06, and split into 32 LSH bands
of 2 rows find pairs down to a Jaccard of about 0.4 with probability > 0.99."""

_rng = np.random.default_rng(0x7A4E6B41)  # fixed: signatures must be comparable across runs
_SEEDS = _rng.integers(0, np.iinfo(np.uint64).max, size=MINHASH_SLOTS, dtype=np.uint64)


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a bijective, well-mixed 64-bit hash (uint64 arithmetic wraps)."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def shingles(canonical: str, k: int = SHINGLE) -> set[str]:
    """Character k-grams of a canonical text; a text shorter than k is its own single shingle."""
    if len(canonical) <= k:
        return {canonical} if canonical else set()
    return {canonical[i : i + k] for i in range(len(canonical) - k + 1)}


def _shingle_ids(items: set[str]) -> np.ndarray:
    """Stable 64-bit ids of shingles (blake2b, not Python's salted ``hash``)."""
    ids = np.fromiter(
        (
            int.from_bytes(hashlib.blake2b(s.encode("utf-8"), digest_size=8).digest(), "big")
            for s in items
        ),
        dtype=np.uint64,
        count=len(items),
    )
    return ids


def minhash(canonical: str) -> np.ndarray:
    """MinHash signature (``MINHASH_SLOTS`` uint32 values) of a canonical text.

    Slot ``i`` hashes every shingle id with ``splitmix64(id ^ seed_i)`` and keeps the minimum; a
    bijective mixer behaves like an independent random permutation per slot.
    """
    ids = _shingle_ids(shingles(canonical))
    if ids.size == 0:
        raise ValueError("no shingles in an empty text")
    h = _mix64(ids[:, None] ^ _SEEDS[None, :])
    return (h.min(axis=0) >> np.uint64(32)).astype(np.uint32)


def signature_to_hex(sig: np.ndarray) -> str:
    """Big-endian hex of a signature: 8 characters per slot."""
    return sig.astype(">u4").tobytes().hex()


def signature_from_hex(signal: str) -> np.ndarray:
    """Inverse of :func:`signature_to_hex`; the caller has validated the length."""
    return np.frombuffer(bytes.fromhex(signal), dtype=">u4").astype(np.uint32)
