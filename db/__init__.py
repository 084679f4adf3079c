"""The data: SQLAlchemy models, the database (engine and sessions), stream keys at rest, the
Alembic schema and the checks the server commands run before they start. Used by the admin API
(backend/) and the scheduler and workers (scheduler/); knows nothing about Flask or HTTP."""
