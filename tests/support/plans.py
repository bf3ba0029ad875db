"""PostgreSQL's plan of a statement as the server runs it: prepared (the driver prepares a
statement it runs often) and planned once for any parameters (a generic plan)."""

from __future__ import annotations

from sqlalchemy import Connection


def generic_plan(conn: Connection, sql: str, *literals: str) -> str:
    """The generic plan of ``sql`` (``%s`` marks), with ``literals`` (SQL text) for its
    parameters, in ``conn``'s transaction."""
    prepared = sql
    for n in range(1, len(literals) + 1):
        prepared = prepared.replace("%s", f"${n}", 1)
    conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
    conn.exec_driver_sql(f"PREPARE planned AS {prepared}")
    try:
        explain = f"EXPLAIN EXECUTE planned({', '.join(literals)})"
        return "\n".join(str(r[0]) for r in conn.exec_driver_sql(explain))
    finally:
        conn.exec_driver_sql("DEALLOCATE planned")
