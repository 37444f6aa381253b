//! Fresh PostgreSQL databases for tests (owned by the Postgres adapter work).
