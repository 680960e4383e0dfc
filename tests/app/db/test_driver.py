"""Statements and savepoints through the driver: inside the caller's transaction, rolled back
only as far as the block that failed, and failing with SQLAlchemy's own exceptions, on both
stores and through both kinds of engine the service makes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError, ProgrammingError

from app.db import driver
from app.db.driver import savepoint
from app.db.engine import make_engine, make_writer_engine


@pytest.fixture(params=[make_engine, make_writer_engine], ids=["pool", "writer"])
def engine(request: pytest.FixtureRequest, database_url: str) -> Iterator[Engine]:
    make: Callable[[str], Engine] = request.param
    engine = make(database_url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER UNIQUE, note TEXT)"))
    yield engine
    engine.dispose()


def _insert(connection: Connection, *values: int, returning: bool = False) -> list[Any]:
    """``INSERT INTO t (x)`` of ``values`` through the driver, in its paramstyle."""
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    rows = ", ".join(f"({mark})" for _ in values)
    sql = "INSERT INTO t (x) VALUES " + rows + (" RETURNING x" if returning else "")  # noqa: S608 - placeholders only
    return driver.execute(connection, sql, values)


def _values(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        return sorted(row.x for row in connection.execute(text("SELECT x FROM t")))


def _insert_then_give_up(connection: Connection, *values: int) -> None:
    _insert(connection, *values)
    raise ValueError("the block gave up")


def test_execute_returns_the_rows_or_none_and_stays_in_the_transaction(engine: Engine) -> None:
    with engine.begin() as connection:
        assert _insert(connection, 1) == []
        inserted = _insert(connection, 2, 3, returning=True)
        assert sorted(row[0] for row in inserted) == [2, 3]
        # A '%' in a statement without parameters is text, on each driver.
        assert driver.execute(connection, "SELECT '100%'") == [("100%",)]
    assert _values(engine) == [1, 2, 3]
    with pytest.raises(ValueError, match="gave up"), engine.begin() as connection:
        _insert_then_give_up(connection, 4)
    assert _values(engine) == [1, 2, 3]


def test_errors_are_sqlalchemys_as_from_exec_driver_sql(engine: Engine) -> None:
    with engine.begin() as connection:
        _insert(connection, 1)
    with engine.begin() as connection:
        with pytest.raises(IntegrityError) as caught, savepoint(connection):
            _insert(connection, 1)
        assert isinstance(caught.value.orig, connection.dialect.loaded_dbapi.IntegrityError)
        assert "INSERT INTO t" in str(caught.value)
        with pytest.raises(DBAPIError) as bad, savepoint(connection):
            driver.execute(connection, "SELEC 1")
        assert isinstance(bad.value, ProgrammingError) or "syntax" in str(bad.value).lower()


def test_a_failed_savepoint_undoes_its_block_only_and_the_transaction_goes_on(
    engine: Engine,
) -> None:
    with engine.begin() as connection:
        _insert(connection, 1)
        with pytest.raises(IntegrityError), savepoint(connection):
            _insert(connection, 2, 1)  # 2 goes in, then 1 fails: the block is undone whole
        # On PostgreSQL the transaction is usable again only once rolled back to the savepoint.
        _insert(connection, 3)
        with savepoint(connection):
            connection.execute(text("INSERT INTO t (x) VALUES (4)"))
            with pytest.raises(IntegrityError), savepoint(connection):  # nested, statement layer
                connection.execute(text("INSERT INTO t (x) VALUES (3)"))
            connection.execute(text("INSERT INTO t (x) VALUES (5)"))
        with pytest.raises(ValueError, match="gave up"), savepoint(connection):  # not only SQL
            _insert_then_give_up(connection, 6)
    assert _values(engine) == [1, 3, 4, 5]


def _released_inside_then_failing(connection: Connection) -> None:
    with savepoint(connection):
        _insert(connection, 7)
    _insert(connection, 8, 8)


def test_a_failed_outer_savepoint_undoes_the_savepoints_released_inside_it(engine: Engine) -> None:
    with engine.begin() as connection:
        with pytest.raises(IntegrityError), savepoint(connection):
            _released_inside_then_failing(connection)
        _insert(connection, 9)
    assert _values(engine) == [9]
