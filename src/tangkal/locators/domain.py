"""Domain names as validated, normalised, immutable values.

Every block, order and protected-name rule in tangkal is keyed on a domain name, so the
same name must always be spelt the same way: ``WWW.Bücher.DE.`` and ``www.xn--bcher-kva.de``
are one name. We normalise once, on the way in (UTS #46 mapping, then IDNA 2008 label
rules), and store only the ASCII (A-label) form; everything downstream compares strings.

Proportionality rails live here too. A public suffix (``co.id``, ``com``, and also the
PSL *private* section such as ``github.io`` or ``blogspot.com``) is refused by default:
a DNS block on ``github.io`` would take out every GitHub Pages site at once, which is the
whole-service collateral damage of 2017 that tangkal exists to prevent. Callers that
genuinely need to name a suffix (for example the protected-names list) must say so with
``allow_public_suffix=True``.

Choices about characters DNS allows but registries do not:

* ``_`` and a leading/trailing ``-`` are accepted only in the host labels to the *left*
  of the registrable domain (``_dmarc.example.com``, ``-foo-.blogspot.com`` exist in the
  wild and may need to be named), never in the registrable domain or the public suffix,
  where no registry allocates them.
* Other ASCII labels must be letters, digits and hyphens (LDH). Labels with ``--`` in
  positions 3-4 are tolerated unless they claim to be A-labels (``xn--``), which must then
  decode to valid IDNA 2008 U-labels (``r3---sn-abc.googlevideo.com`` is a real host).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache

import idna
from publicsuffixlist import PublicSuffixList

from tangkal.errors import InvalidLocator, Msg

__all__ = ["MAX_LABEL_OCTETS", "MAX_NAME_OCTETS", "Domain", "is_public_suffix", "parse_domain"]

MAX_LABEL_OCTETS = 63
MAX_NAME_OCTETS = 253  # RFC 1035 limit of 255 octets on the wire, in dotted text form

# accept_unknown=False makes ``publicsuffix()`` return None for a TLD missing from the list,
# which is how unknown TLDs are detected. The bundled list is used: no network at import.
_PSL = PublicSuffixList(accept_unknown=False)

_LDH_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\Z")
_HOST_LABEL = re.compile(r"[a-z0-9_-]+\Z")  # DNS-tolerant form for labels left of registrable


def _show(text: str, limit: int = 80) -> str:
    """Quote user input for an error message without letting a huge input flood the log."""
    return repr(text if len(text) <= limit else text[:limit] + "…")


def _fail(message: str | Msg, field: str) -> InvalidLocator:
    return InvalidLocator(message, field=field)


def could_be_ip(text: str) -> bool:
    """False for text that no IP literal can be: ``ipaddress`` raises for every name it is
    handed, and that was a fifth of the time of parsing an ordinary URL. An IPv4 literal is
    digits and dots, an IPv6 one has a colon."""
    return ":" in text or text.replace(".", "").isdigit()


def _looks_like_ip(text: str) -> bool:
    candidate = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    if not could_be_ip(candidate):
        return False
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return False
    return True


def _to_ascii_label(label: str, original: str, field: str) -> str:
    """Return the A-label for one already UTS #46-mapped label, or raise."""
    if not label:
        raise _fail(
            Msg(
                "%(name)s contains an empty label (two dots in a row, or a leading dot); "
                "write the name as e.g. www.example.com",
                name=_show(original),
            ),
            field,
        )
    if label == "*":
        raise _fail(
            Msg(
                "%(name)s contains a wildcard; name the domain itself "
                "(blocks on a domain already cover its subdomains)",
                name=_show(original),
            ),
            field,
        )
    if label.isascii():
        if label.startswith("xn--"):
            try:
                idna.alabel(label)  # decodes and re-checks the U-label
            except idna.IDNAError as exc:
                raise _fail(
                    Msg(
                        "%(name)s contains %(label)r, which is not a valid "
                        "internationalised (xn--) label: %(detail)s",
                        name=_show(original),
                        label=label,
                        detail=str(exc),
                    ),
                    field,
                ) from exc
        elif not _HOST_LABEL.match(label):
            bad = sorted({c for c in label if not (c.isalnum() or c in "_-")})
            raise _fail(
                Msg(
                    "%(name)s contains characters not allowed in a domain name "
                    "(%(chars)s); use letters, digits and hyphens",
                    name=_show(original),
                    chars=" ".join(repr(c) for c in bad),
                ),
                field,
            )
        ascii_label = label
    else:
        try:
            ascii_label = idna.alabel(label).decode("ascii")
        except idna.IDNAError as exc:
            raise _fail(
                Msg(
                    "%(name)s contains %(label)r, which is not allowed in an "
                    "internationalised domain name (IDNA 2008): %(detail)s",
                    name=_show(original),
                    label=label,
                    detail=str(exc),
                ),
                field,
            ) from exc
    if len(ascii_label) > MAX_LABEL_OCTETS:
        raise _fail(
            Msg(
                "%(name)s has a label of %(length)s characters "
                "(%(start)s…); DNS labels are at most %(limit)s",
                name=_show(original),
                length=len(ascii_label),
                start=ascii_label[:20],
                limit=MAX_LABEL_OCTETS,
            ),
            field,
        )
    return ascii_label


def _normalise(text: str, *, field: str) -> str:
    """Turn user text into the canonical A-label name, checking syntax but not policy."""
    if not isinstance(text, str):
        raise _fail(f"a domain name must be text, not {type(text).__name__}", field)
    original = text
    stripped = text.strip()
    if not stripped:
        raise _fail(Msg("the domain name is empty; give a name such as example.com"), field)
    if _looks_like_ip(stripped):
        raise _fail(
            Msg(
                "%(name)s is an IP address; a domain name is needed here (e.g. example.com)",
                name=_show(stripped),
            ),
            field,
        )
    if stripped.startswith(".") or ".." in stripped:
        raise _fail(
            Msg(
                "%(name)s contains an empty label (two dots in a row, or a leading dot); "
                "write the name as e.g. www.example.com",
                name=_show(original),
            ),
            field,
        )
    try:
        # Non-transitional UTS #46: case folding, width folding, ideographic full stops,
        # and removal of ignorables such as U+200B, exactly as browsers resolve names.
        # On ASCII it is exactly lower-casing (checked for every ASCII character by the
        # tests), which costs a fortieth of the table walk.
        mapped = (
            stripped.lower()
            if stripped.isascii()
            else idna.uts46_remap(stripped, std3_rules=False, transitional=False)
        )
    except idna.IDNAError as exc:
        raise _fail(
            Msg(
                "%(name)s contains characters not allowed in a domain name: %(detail)s",
                name=_show(original),
                detail=str(exc),
            ),
            field,
        ) from exc
    if mapped.endswith("."):
        mapped = mapped[:-1]  # the root label: exactly one trailing dot is allowed
    labels = [_to_ascii_label(label, original, field) for label in mapped.split(".")]
    name = ".".join(labels)
    if len(name) > MAX_NAME_OCTETS:
        raise _fail(
            Msg(
                "the domain name is %(length)s characters long; DNS names are at most %(limit)s",
                length=len(name),
                limit=MAX_NAME_OCTETS,
            ),
            field,
        )
    return name


@lru_cache(maxsize=65536)
def _suffix_of(name: str) -> str | None:
    """Public suffix (ICANN or private section) of an A-label name, None if TLD unknown."""
    return _PSL.publicsuffix(name)


def _check_policy(name: str, original: str, *, allow_public_suffix: bool, field: str) -> None:
    labels = name.split(".")
    suffix = _suffix_of(name)
    if len(labels) == 1:
        if suffix is not None:
            raise _fail(
                Msg(
                    "%(name)s is a top-level domain; name a registrable domain "
                    "such as example.%(tld)s",
                    name=_show(original),
                    tld=name,
                ),
                field,
            )
        if name.isdigit():
            raise _fail(
                Msg(
                    "%(name)s looks like a number, not a domain; give a name such as example.com",
                    name=_show(original),
                ),
                field,
            )
        raise _fail(
            Msg(
                "%(name)s is a single-label name (like localhost) that does not exist in "
                "public DNS; give a full name such as example.com",
                name=_show(original),
            ),
            field,
        )
    if suffix is None:
        if labels[-1].isdigit():
            raise _fail(
                Msg(
                    "%(name)s looks like an IP address in a short or unusual form; a domain "
                    "name is needed, or write the address as four dotted numbers in a URL",
                    name=_show(original),
                ),
                field,
            )
        raise _fail(
            Msg(
                "%(name)s ends in %(tld)r, which is not a known top-level domain "
                "(not in the public suffix list); check the spelling",
                name=_show(original),
                tld=labels[-1],
            ),
            field,
        )
    suffix_len = suffix.count(".") + 1
    if suffix == name:
        if not allow_public_suffix:
            raise _fail(
                Msg(
                    "%(name)s is a public suffix, shared by many unrelated owners; "
                    "name a registrable domain such as example.%(suffix)s",
                    name=_show(original),
                    suffix=name,
                ),
                field,
            )
        strict_from = 0
    else:
        strict_from = len(labels) - suffix_len - 1  # index of the registrable label
    for label in labels[strict_from:]:
        if not label.startswith("xn--") and not _LDH_LABEL.match(label):
            raise _fail(
                Msg(
                    "%(name)s: the label %(label)r is part of the registrable domain or "
                    "public suffix, where only letters, digits and inner hyphens are allowed",
                    name=_show(original),
                    label=label,
                ),
                field,
            )


@dataclass(frozen=True, slots=True, order=True)
class Domain:
    """A fully qualified domain name, normalised to lower-case A-labels without trailing dot.

    Build one with :meth:`Domain.parse` from untrusted text. The constructor itself accepts
    only a name that is already canonical (e.g. read back from the database) and checks
    that it is, so a ``Domain`` in hand is always valid. The constructor does not apply the
    public-suffix policy, because a stored value was allowed or refused when it was parsed.
    """

    name: str

    def __post_init__(self) -> None:
        canonical = _normalise(self.name, field="domain")
        if canonical != self.name:
            raise _fail(
                f"{_show(self.name)} is not in canonical form ({canonical!r}); "
                "use Domain.parse() for user input",
                "domain",
            )
        _check_policy(canonical, self.name, allow_public_suffix=True, field="domain")

    @classmethod
    def parse(
        cls, text: str, *, allow_public_suffix: bool = False, field: str = "domain"
    ) -> Domain:
        """Normalise and validate user text; refuse public suffixes unless allowed."""
        name = _normalise(text, field=field)
        _check_policy(name, text.strip(), allow_public_suffix=allow_public_suffix, field=field)
        return cls._trusted(name)

    @classmethod
    def _trusted(cls, name: str) -> Domain:
        """Build without re-validating: only for names this module just validated."""
        obj = object.__new__(cls)
        object.__setattr__(obj, "name", name)
        return obj

    def __str__(self) -> str:
        return self.name

    @property
    def labels(self) -> tuple[str, ...]:
        """The A-labels, leftmost first."""
        return tuple(self.name.split("."))

    @property
    def unicode(self) -> str:
        """The U-label form for showing to people (``bücher.de``); never for comparison."""
        return ".".join(
            idna.ulabel(label) if label.startswith("xn--") else label for label in self.labels
        )

    @property
    def public_suffix(self) -> str:
        """The public suffix per the PSL, ICANN and private sections (``co.id``, ``github.io``)."""
        suffix = _suffix_of(self.name)
        assert suffix is not None  # guaranteed by validation: the TLD is known
        return suffix

    @property
    def registrable(self) -> str | None:
        """The registrable domain (``contoh.co.id``); None if the name is a public suffix."""
        suffix = self.public_suffix
        if suffix == self.name:
            return None
        keep = suffix.count(".") + 2
        return ".".join(self.labels[-keep:])

    @property
    def is_public_suffix(self) -> bool:
        """True only for values built with ``allow_public_suffix=True`` that are suffixes."""
        return self.public_suffix == self.name

    def is_subdomain_of(self, other: Domain) -> bool:
        """True if this name equals ``other`` or lies beneath it (label-wise, not textually)."""
        return self.name == other.name or self.name.endswith("." + other.name)

    @property
    def parent(self) -> Domain | None:
        """The name one label up, or None once that would be a public suffix.

        Stopping at the registrable domain keeps walks up the tree (e.g. to find earlier
        orders about an enclosing name) within names that can legitimately be targeted.
        """
        if self.is_public_suffix:
            return None
        parent = self.name.split(".", 1)[1]
        if parent == self.public_suffix:
            return None
        return Domain._trusted(parent)

    def ancestors(self) -> tuple[Domain, ...]:
        """Enclosing names from the parent up to the registrable domain, nearest first."""
        found: list[Domain] = []
        current = self.parent
        while current is not None:
            found.append(current)
            current = current.parent
        return tuple(found)


def parse_domain(text: str, *, allow_public_suffix: bool = False) -> Domain:
    """Function form of :meth:`Domain.parse`, for callers that prefer plain functions."""
    return Domain.parse(text, allow_public_suffix=allow_public_suffix)


def is_public_suffix(name: str | Domain) -> bool:
    """Whether ``name`` is exactly a public suffix (ICANN or private section of the PSL).

    Lenient by design: this answers a policy question, so text that is not a valid domain
    name at all is simply "not a public suffix" rather than an error.
    """
    text = name.name if isinstance(name, Domain) else name
    try:
        canonical = _normalise(text, field="domain")
    except InvalidLocator:
        return False
    return _suffix_of(canonical) == canonical
