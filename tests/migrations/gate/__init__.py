"""The migration gate's library: each check is a plain function over a `History`.

Keeping the checks out of the test modules lets the same code run on the project's own
`alembic/versions` and on the deliberately broken fixture histories under
`tests/migrations/fixtures/`, which is how the gate proves it has teeth.
"""
