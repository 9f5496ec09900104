"""Database plumbing: the declarative base, engines, units of work and migrations."""

from tangkal.db.base import Base
from tangkal.db.session import Database, get_database

__all__ = ["Base", "Database", "get_database"]
