"""Storage: the database (SQLite or PostgreSQL, kcbx.storage.db), migrations, repositories."""

# Database.open opens postgresql:// targets with the engine this module registers.
from kcbx.storage.connection import postgres as postgres
