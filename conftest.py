"""Collection of the whole tree: pyproject's ``testpaths`` and ``--doctest-modules`` import
every module of the packages for its docstring examples."""

# Alembic's env.py runs its migration at import, and only inside alembic's own context.
collect_ignore = ["app/db/migrations/env.py"]
