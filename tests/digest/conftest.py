"""The digest reads hits from both databases, like the storage tests."""

from tests.storage.conftest import db_url, empty_db

__all__ = ["db_url", "empty_db"]
