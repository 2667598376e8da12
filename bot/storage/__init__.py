"""Storage: SQLAlchemy 2 models and async queries over one database URL (SQLite by default,
PostgreSQL in production), Alembic migrations, and the resilient hit writer.

Imports ``bot.engine`` and ``bot.privacy``; never ``telegram`` or the transport layer.
"""

from bot.storage.db import database, downgrade, make_engine, redact_url, session_factory, upgrade
from bot.storage.hits import HitRecord, HitWriter, hits_from_verdict

__all__ = [
    "HitRecord",
    "HitWriter",
    "database",
    "downgrade",
    "hits_from_verdict",
    "make_engine",
    "redact_url",
    "session_factory",
    "upgrade",
]
