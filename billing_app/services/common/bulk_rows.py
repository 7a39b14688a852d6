"""Many rows in one statement, for the paths that write thousands at once (a batch of
renewals, a benchmark's data): plain objects with a model's defaults, one INSERT for many, one
UPDATE of many rows each with its own values. No ORM flush: no per-row statements, and no ORM
listeners either - a caller keeps whatever those would have kept (docs/architecture.md,
"Renewals")."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from pydantic_core import PydanticUndefined
from sqlalchemy.dialects.postgresql import ARRAY


@functools.cache
def defaults(model: Any) -> dict[str, Any]:
    """What a new row of ``model`` holds unless told otherwise (its fields' defaults)."""
    columns = {c.key for c in model.__table__.columns} - {"id"}
    return {
        name: info.default
        for name, info in model.model_fields.items()
        if name in columns and info.default is not PydanticUndefined
    }


def new_row(model: Any, **values: Any) -> Any:
    """A row of ``model`` as a plain object (a mapped object costs far more to make, and a
    batch makes thousands): read like one (a snapshot reads it), written by ``insert_rows``."""
    return SimpleNamespace(**{**defaults(model), **values})


def insert_rows(conn: sa.Connection, model: Any, rows: Sequence[Any]) -> None:
    """One INSERT of many rows of ``model`` (``new_row``s)."""
    table: Any = model.__table__
    names = [c.key for c in table.columns if c.key != "id"]
    conn.execute(sa.insert(table), [{name: getattr(row, name) for name in names} for row in rows])


def update_rows(
    conn: sa.Connection,
    table: Any,
    columns: tuple[Any, ...],
    rows: list[tuple[Any, ...]],
    assign: Callable[[Callable[[str], Any]], dict[str, Any]],
    match: Callable[[Callable[[str], Any]], Any] | None = None,
) -> None:
    """One UPDATE of many rows of ``table``, each found by its id (the first of ``columns``)
    and given its own values: ``assign`` and ``match`` (a further condition) build them from a
    function that names a value of the row. On PostgreSQL, one statement joined to the rows
    passed as one array per column (``unnest``: one round trip, and the same SQL text whatever
    the number of rows, so it is compiled once); on SQLite (in-process: no round trips), an
    executemany."""
    if conn.dialect.name == "postgresql":
        arrays = [
            sa.bindparam(f"{c.name}_all", [row[i] for row in rows], type_=ARRAY(c.type))
            for i, c in enumerate(columns)
        ]
        data = (
            sa.func.unnest(*arrays)
            .table_valued(*(sa.column(c.name, c.type) for c in columns))
            .render_derived(name="batch_values")
        )

        def joined(name: str) -> Any:
            return data.c[name]

        statement = sa.update(table).where(table.c.id == data.c[columns[0].name])
        if match is not None:
            statement = statement.where(match(joined))
        conn.execute(statement.values(**assign(joined)))
        return
    statement = sa.update(table).where(table.c.id == sa.bindparam(columns[0].name))
    if match is not None:
        statement = statement.where(match(sa.bindparam))
    names = [c.name for c in columns]
    params = [dict(zip(names, row, strict=True)) for row in rows]
    conn.execute(statement.values(**assign(sa.bindparam)), params)
