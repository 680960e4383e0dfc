"""Statements and savepoints through the driver: inside the caller's transaction, rolled back
only as far as the block that failed, and failing with SQLAlchemy's own exceptions, on both
stores and through both kinds of engine the service makes."""

from __future__ import annotations

from collections.abc import Callable, Iterator

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


def _mark(connection: Connection) -> str:
    return "?" if connection.dialect.paramstyle == "qmark" else "%s"


def _values(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        return sorted(row.x for row in connection.execute(text("SELECT x FROM t")))


def test_execute_returns_the_rows_or_none_and_stays_in_the_transaction(engine: Engine) -> None:
    with engine.begin() as connection:
        mark = _mark(connection)
        assert driver.execute(connection, f"INSERT INTO t (x) VALUES ({mark})", (1,)) == []
        inserted = driver.execute(
            connection, f"INSERT INTO t (x) VALUES ({mark}), ({mark}) RETURNING x", (2, 3)
        )
        assert sorted(row[0] for row in inserted) == [2, 3]
        # A '%' in a statement without parameters is text, on each driver.
        assert driver.execute(connection, "SELECT '100%'") == [("100%",)]
    assert _values(engine) == [1, 2, 3]
    with pytest.raises(RuntimeError), engine.begin() as connection:
        driver.execute(connection, f"INSERT INTO t (x) VALUES ({_mark(connection)})", (4,))
        raise RuntimeError("the transaction rolls back")
    assert _values(engine) == [1, 2, 3]


def test_errors_are_sqlalchemys_as_from_exec_driver_sql(engine: Engine) -> None:
    with engine.begin() as connection:
        driver.execute(connection, f"INSERT INTO t (x) VALUES ({_mark(connection)})", (1,))
    with engine.begin() as connection:
        with pytest.raises(IntegrityError) as caught:
            with savepoint(connection):
                driver.execute(connection, f"INSERT INTO t (x) VALUES ({_mark(connection)})", (1,))
        assert isinstance(caught.value.orig, connection.dialect.loaded_dbapi.IntegrityError)
        assert "INSERT INTO t" in str(caught.value)
        with pytest.raises(DBAPIError) as bad:
            with savepoint(connection):
                driver.execute(connection, "SELEC 1")
        assert isinstance(bad.value, ProgrammingError) or "syntax" in str(bad.value).lower()


def test_a_failed_savepoint_undoes_its_block_only_and_the_transaction_goes_on(
    engine: Engine,
) -> None:
    with engine.begin() as connection:
        mark = _mark(connection)
        driver.execute(connection, f"INSERT INTO t (x) VALUES ({mark})", (1,))
        with pytest.raises(IntegrityError), savepoint(connection):
            driver.execute(connection, f"INSERT INTO t (x) VALUES ({mark})", (2,))
            driver.execute(connection, f"INSERT INTO t (x) VALUES ({mark})", (1,))  # fails
        # On PostgreSQL the transaction is usable again only once rolled back to the savepoint.
        driver.execute(connection, f"INSERT INTO t (x) VALUES ({mark})", (3,))
        with savepoint(connection):
            connection.execute(text("INSERT INTO t (x) VALUES (4)"))
            with pytest.raises(IntegrityError), savepoint(connection):  # nested, statement layer
                connection.execute(text("INSERT INTO t (x) VALUES (3)"))
            connection.execute(text("INSERT INTO t (x) VALUES (5)"))
        with pytest.raises(ValueError), savepoint(connection):  # not only database errors
            driver.execute(connection, f"INSERT INTO t (x) VALUES ({mark})", (6,))
            raise ValueError("the block gave up")
    assert _values(engine) == [1, 3, 4, 5]


def test_a_failed_outer_savepoint_undoes_the_savepoints_released_inside_it(engine: Engine) -> None:
    with engine.begin() as connection:
        mark = _mark(connection)
        with pytest.raises(IntegrityError), savepoint(connection):
            with savepoint(connection):
                driver.execute(connection, f"INSERT INTO t (x) VALUES ({mark})", (7,))
            driver.execute(connection, f"INSERT INTO t (x) VALUES ({mark}), ({mark})", (8, 8))
        driver.execute(connection, f"INSERT INTO t (x) VALUES ({mark})", (9,))
    assert _values(engine) == [9]
