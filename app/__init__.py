"""The items service: a FastAPI CRUD API over PostgreSQL whose schema evolves through Alembic."""
