"""SOP profiles: the legal procedure as configuration (deadlines, warnings, fines, approvals)."""

from tangkal.sop.profile import Category, SopProfile, load_profile, parse_duration

__all__ = ["Category", "SopProfile", "load_profile", "parse_duration"]
