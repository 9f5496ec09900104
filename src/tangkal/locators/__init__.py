"""Immutable, validated locators: the names of things orders and blocks point at.

Everything the rest of tangkal stores about content is keyed on these values, so they are
checked once, when built from untrusted text, and trusted afterwards. Import from here:

    from tangkal.locators import Domain, Locator, LocatorKind, parse_locator, parse_domain
"""

from tangkal.locators.domain import Domain, is_public_suffix, parse_domain
from tangkal.locators.model import CANONICAL_PREFIXES, Locator, LocatorKind
from tangkal.locators.parse import clean_text, parse_locator
from tangkal.locators.telegram import TELEGRAM_LINK_DOMAINS
from tangkal.locators.url import MAX_URL_LENGTH, TRACKING_PARAMS

__all__ = [
    "CANONICAL_PREFIXES",
    "MAX_URL_LENGTH",
    "TELEGRAM_LINK_DOMAINS",
    "TRACKING_PARAMS",
    "Domain",
    "Locator",
    "LocatorKind",
    "clean_text",
    "is_public_suffix",
    "parse_domain",
    "parse_locator",
]
