"""The one CLI: ``thumbs serve``, ``db``, ``accounts``, ``keys``, ``users``, ``stats``,
``export``, ``import``."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Annotated, Any

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import Session

from thumbs.auth.schemas import AccountCreate, ApiKeyCreate
from thumbs.config import get_settings
from thumbs.exports.formats import FeedbackFormat, GoldenFormat
from thumbs.feedback.schemas import ChannelChoice, FeedbackQuery, StatusChoice, TypeChoice
from thumbs.kit.body import validate_fields
from thumbs.kit.errors import ThumbsError
from thumbs.kit.timefmt import iso
from thumbs.server import uvicorn_options
from thumbs.store import migrate
from thumbs.store.engine import Store
from thumbs.store.models import Account

app = typer.Typer(help="thumbs: human feedback for AI assistants.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
accounts_app = typer.Typer(help="Accounts (tenants) and their Auth Tokens.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys (SK…) of an account.", no_args_is_help=True)
users_app = typer.Typer(help="Console users (admins and members).", no_args_is_help=True)
export_app = typer.Typer(help="Export feedback and golden examples.", no_args_is_help=True)
import_app = typer.Typer(help="Import feedback (a backfill).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(accounts_app, name="accounts")
app.add_typer(keys_app, name="keys")
app.add_typer(users_app, name="users")
app.add_typer(export_app, name="export")
app.add_typer(import_app, name="import")


def _store() -> Store:
    return Store.of(get_settings())


def _ensure_schema(store: Store) -> None:
    if migrate.pending(store.engine, store.url):
        settings = get_settings()
        if not settings.auto_migrate:
            typer.echo("The database schema is not up to date: run `thumbs db upgrade`.", err=True)
            raise typer.Exit(2)
        migrate.upgrade(store.url)


@contextmanager
def _unit_of_work() -> Iterator[Session]:
    """A session on an up-to-date store, committed at the end (the CLI's unit of work)."""
    store = _store()
    try:
        _ensure_schema(store)
        with store.session() as session:
            yield session
    finally:
        store.dispose()


def _account(session: Session, sid: str) -> Account:
    """The account ``sid``, or exit 1 saying there is none."""
    from thumbs.auth import service

    account = service.get_account(session, sid=sid)
    if account is None:
        typer.echo(f"No account {sid}", err=True)
        raise typer.Exit(1)
    return account


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address [THUMBS_HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="Port [THUMBS_PORT].")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes [THUMBS_WORKERS].")] = None,
) -> None:
    """Run the HTTP server (applies pending migrations first unless THUMBS_AUTO_MIGRATE=false)."""
    import uvicorn

    settings = get_settings()
    store = _store()
    try:
        _ensure_schema(store)
    finally:
        store.dispose()
    uvicorn.run(
        "thumbs.app:create_served_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers or settings.workers,
        log_level=settings.log_level,
        proxy_headers=True,
        server_header=False,
        loop="uvloop",
        access_log=settings.log_level == "debug",
        **uvicorn_options(settings),
    )


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default: head)."""
    url = get_settings().effective_database_url
    migrate.upgrade(url, revision)
    typer.echo(f"database at {migrate.head_revision(url) if revision == 'head' else revision}")


@db_app.command("current")
def db_current() -> None:
    """Print the schema revision of the database and whether it is up to date."""
    store = _store()
    try:
        current = migrate.current_revision(store.engine)
        head = migrate.head_revision(store.url)
    finally:
        store.dispose()
    typer.echo(f"current: {current or '(empty)'}  head: {head}")
    if current != head:
        raise typer.Exit(1)


@db_app.command("cleanup")
def db_cleanup(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Delete expired records now: idempotency keys older than 24 hours (the server does it
    too, every THUMBS_CLEANUP_INTERVAL seconds), THUMBS_CLEANUP_BATCH rows per transaction."""
    from thumbs.feedback import idempotency

    store = _store()
    try:
        _ensure_schema(store)
        deleted = idempotency.delete_all_expired(store.engine, batch=get_settings().cleanup_batch)
    finally:
        store.dispose()
    _emit(
        as_json,
        {"idempotency_keys_deleted": deleted},
        f"Deleted {deleted} expired idempotency keys",
    )


def _emit(as_json: bool, payload: dict[str, object], human: str) -> None:
    if as_json:
        sys.stdout.write(json.dumps(payload) + "\n")
    else:
        typer.echo(human)


@accounts_app.command("create")
def accounts_create(
    name: Annotated[str, typer.Option(help="A name for the account.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Create an account; prints its Account SID and Auth Token (shown only once)."""
    from thumbs.auth import service

    data = validate_fields(AccountCreate, {"name": name})
    with _unit_of_work() as session:
        created = service.create_account(session, name=data.name)
        sid = created.account.sid
    _emit(
        as_json,
        {"account_sid": sid, "auth_token": created.auth_token},
        f"Account SID: {sid}\nAuth Token:  {created.auth_token}\n"
        "(the Auth Token is stored hashed and cannot be shown again)",
    )


@keys_app.command("create")
def keys_create(
    account: Annotated[str, typer.Option(help="The Account SID (AC…) that owns the key.")],
    name: Annotated[str, typer.Option(help="A name for the key.")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Create an API key (SK…); prints its SID and secret (shown only once)."""
    from thumbs.auth import service

    data = validate_fields(ApiKeyCreate, {"friendly_name": name})
    with _unit_of_work() as session:
        created = service.create_api_key(
            session, account=_account(session, account), name=data.friendly_name
        )
        sid = created.key.sid
    _emit(
        as_json,
        {"api_key_sid": sid, "secret": created.secret, "account_sid": account},
        f"API Key SID: {sid}\nSecret:      {created.secret}\n"
        "(the secret is stored hashed and cannot be shown again)",
    )


@keys_app.command("list")
def keys_list(
    account: Annotated[str, typer.Option(help="The Account SID (AC…) whose keys to list.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """List the API keys of an account, oldest first (secrets are never shown again)."""
    from thumbs.auth import service

    with _unit_of_work() as session:
        acc = _account(session, account)
        keys = [
            service.api_key_out(k, account_sid=acc.sid)
            for k in service.all_api_keys(session, account_pk=acc.pk)
        ]
    if as_json:
        sys.stdout.write(json.dumps({"keys": keys}) + "\n")
        return
    if not keys:
        typer.echo(f"No API keys in {account}")
    for k in keys:
        typer.echo(f"{k['sid']}  {k['date_created']}  {k['friendly_name']}")


@keys_app.command("revoke")
def keys_revoke(
    sid: Annotated[str, typer.Argument(help="The API Key SID (SK…) to revoke.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Revoke an API key: every server process refuses it within
    THUMBS_AUTH_REVOCATION_CHECK seconds (default 2)."""
    from thumbs.auth import service

    with _unit_of_work() as session:
        key = service.find_api_key(session, sid=sid)
        if key is None:
            typer.echo(f"No API key {sid}", err=True)
            raise typer.Exit(1)
        service.revoke_api_key(session, key=key)
    bound = get_settings().auth_revocation_check
    _emit(
        as_json,
        {"api_key_sid": sid, "revoked": True},
        f"Revoked {sid}: every server refuses it within {bound:g} seconds",
    )


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="The email the user signs in with.")],
    account: Annotated[str, typer.Option(help="The Account SID (AC…) the user belongs to.")],
    role: Annotated[str, typer.Option(help="admin or member.")] = "member",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Create a console user; the password is prompted for (never echoed) or read from stdin."""
    from thumbs.auth import console

    if role not in console.ROLES:
        typer.echo("--role must be admin or member", err=True)
        raise typer.Exit(2)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    store = _store()
    try:
        _ensure_schema(store)
        with store.session() as session:
            user = console.create_user(
                session, account_sid=account, email=email, role=role, password=password
            )
            sid, stored_email = user.sid, user.email or ""
    except ThumbsError as err:
        typer.echo(err.message, err=True)
        raise typer.Exit(1) from None
    finally:
        store.dispose()
    _emit(
        as_json,
        {"user_sid": sid, "email": stored_email, "role": role, "account_sid": account},
        f"User SID: {sid}\nEmail:    {stored_email}\nRole:     {role}",
    )


@app.command()
def stats(
    account: Annotated[str, typer.Option(help="The Account SID (AC…).")],
    assistant: Annotated[
        str | None, typer.Option(help="One assistant (aia_asst_…); default: all of them.")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="ISO 8601 date or time, inclusive (UTC unless given).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="ISO 8601 date or time, exclusive.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Feedback statistics: count, mean score, positive rate with its 95 % Wilson interval,
    counts by type and status (from the rollups, as GET /v1/Analytics/Summary)."""
    from thumbs.analytics import service
    from thumbs.analytics.schemas import DateRange
    from thumbs.auth import service as auth

    dates = validate_fields(DateRange, {"since": since, "until": until})
    store = _store()
    try:
        _ensure_schema(store)
        with store.session() as session:
            acc = auth.get_account(session, sid=account)
            if acc is None:
                typer.echo(f"No account {account}", err=True)
                raise typer.Exit(1)
            flt = service.filter_for(
                session,
                account_pk=acc.pk,
                assistant_id=assistant,
                since=dates.since,
                until=dates.until,
            )
            found = service.summary_out(service.summary(session, flt=flt))
    finally:
        store.dispose()
    payload = {
        "account_sid": account,
        "assistant_id": assistant,
        "date_created_after": iso(dates.since),
        "date_created_before": iso(dates.until),
        **found,
    }
    if as_json:
        sys.stdout.write(json.dumps(payload) + "\n")
    else:
        typer.echo(service.summary_table(payload))


AccountOption = Annotated[str, typer.Option(help="The Account SID (AC…).")]
OutputOption = Annotated[str, typer.Option(help="The file to write (- for standard output).")]
AssistantFilter = Annotated[str | None, typer.Option(help="Only this assistant (aia_asst_…).")]


def _account_pk(store: Store, sid: str) -> int:
    from thumbs.auth import service

    with store.session() as session:
        acc = service.get_account(session, sid=sid)
        if acc is None:
            typer.echo(f"No account {sid}", err=True)
            raise typer.Exit(1)
        return acc.pk


@contextmanager
def _output(path: str) -> Iterator[IO[bytes]]:
    """Standard output for ``-``; else a file that appears at ``path`` only when complete."""
    if path == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    target = Path(path)
    partial = target.with_name(target.name + ".partial")
    try:
        with partial.open("wb") as out:
            yield out
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _write_export(chunks: Iterator[Any], *, total: int, output: str, what: str) -> None:
    rows = size = 0
    with (
        _output(output) as out,
        typer.progressbar(length=total, label=f"Exporting {what}", file=sys.stderr) as bar,
    ):
        for chunk in chunks:
            out.write(chunk.data)
            rows += chunk.rows
            size += len(chunk.data)
            bar.update(chunk.rows)
    where = "standard output" if output == "-" else output
    typer.echo(f"Exported {rows} {what} to {where} ({size:,} bytes)", err=True)


@export_app.command("feedback")
def export_feedback(
    account: AccountOption,
    fmt: Annotated[FeedbackFormat, typer.Option("--format")],
    output: OutputOption,
    assistant: AssistantFilter = None,
    session_id: Annotated[str | None, typer.Option("--session", help="Only this session.")] = None,
    user: Annotated[str | None, typer.Option(help="Only this end user (US…).")] = None,
    feedback_type: Annotated[TypeChoice | None, typer.Option("--type")] = None,
    status: Annotated[StatusChoice | None, typer.Option()] = None,
    channel: Annotated[ChannelChoice | None, typer.Option()] = None,
    since: Annotated[str | None, typer.Option(help="Created at or after (ISO 8601).")] = None,
    until: Annotated[str | None, typer.Option(help="Created before (ISO 8601).")] = None,
) -> None:
    """Export feedback (one row per feedback) as CSV, JSONL or Parquet, oldest first."""
    from thumbs.exports import service
    from thumbs.feedback import filters

    query = validate_fields(
        FeedbackQuery,
        {
            "assistant_id": assistant,
            "session_id": session_id,
            "user_sid": user,
            "feedback_type": feedback_type,
            "status": status,
            "channel": channel,
            "created_after": since,
            "created_before": until,
        },
    )
    store = _store()
    try:
        _ensure_schema(store)
        account_pk = _account_pk(store, account)
        with store.session() as session:
            flt = filters.resolve(session, account_pk=account_pk, query=query)
        total = service.count_feedback(store.engine, flt=flt)
        chunks = service.export_feedback(store.engine, flt=flt, account_sid=account, fmt=fmt)
        _write_export(chunks, total=total, output=output, what="feedback")
    finally:
        store.dispose()


@export_app.command("golden")
def export_golden(
    account: AccountOption,
    fmt: Annotated[GoldenFormat, typer.Option("--format")],
    output: OutputOption,
    assistant: AssistantFilter = None,
) -> None:
    """Export the active golden examples as OpenAI chat fine-tuning JSONL (openai) or an
    evaluation set (eval), or the preference pairs for DPO (dpo)."""
    from thumbs.assistants import service as assistants
    from thumbs.exports import service

    store = _store()
    try:
        _ensure_schema(store)
        account_pk = _account_pk(store, account)
        with store.session() as session:
            assistant_pk = assistants.pk_of(session, account_pk=account_pk, assistant_id=assistant)
        total = service.count_golden(
            store.engine, account_pk=account_pk, assistant_pk=assistant_pk, fmt=fmt
        )
        chunks = service.export_golden(
            store.engine, account_pk=account_pk, assistant_pk=assistant_pk, fmt=fmt
        )
        what = "preference pairs" if fmt == "dpo" else "golden examples"
        _write_export(chunks, total=total, output=output, what=what)
    finally:
        store.dispose()


@import_app.command("feedback")
def import_feedback(
    path: Annotated[Path, typer.Argument(help="A .jsonl (.ndjson) or .csv file.")],
    account: AccountOption,
    assistant: Annotated[str, typer.Option(help="The assistant (aia_asst_…) to import into.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and count; write nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Import feedback from JSONL or CSV, all rows or none: exits 1 with the list of rejected
    rows (line and reason) when any row is invalid. Safe to re-run: rows imported before are
    skipped."""
    from thumbs.exports import imports
    from thumbs.feedback.service import assistant_ref

    fmt = imports.format_of(path)
    if not path.is_file():
        typer.echo(f"No file {path}", err=True)
        raise typer.Exit(1)
    store = _store()
    try:
        _ensure_schema(store)
        account_pk = _account_pk(store, account)
        with store.session() as session:
            ref = assistant_ref(session, account_pk=account_pk, assistant_id=assistant)
        with (
            path.open("rb") as stream,
            typer.progressbar(
                length=path.stat().st_size, label="Importing", file=sys.stderr
            ) as bar,
        ):
            done = 0

            def advance(position: int) -> None:
                nonlocal done
                bar.update(position - done)
                done = position

            report = imports.import_feedback(
                store.engine,
                account_sid=account,
                assistant=ref,
                stream=stream,
                fmt=fmt,
                dry_run=dry_run,
                progress=advance,
            )
    finally:
        store.dispose()
    if as_json:
        sys.stdout.write(json.dumps(report.as_dict()) + "\n")
    else:
        for r in report.rejected:
            where = f" {r.field}" if r.field else ""
            typer.echo(f"line {r.line}: {r.code}{where}: {r.message}")
        verb = "would import" if dry_run else "imported"
        if report.rejected:
            typer.echo(
                f"{len(report.rejected)} of {report.rows} rows rejected: nothing imported "
                "(fix or remove them and run again)"
            )
        else:
            typer.echo(
                f"{report.rows} rows: {verb} {report.imported}, already present "
                f"{report.present}, repeated in the file {report.repeated}"
            )
    if report.rejected:
        raise typer.Exit(1)


def _database_shown() -> str:
    url = get_settings().effective_database_url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return repr(url)


def main() -> None:
    """The ``thumbs`` command: the Typer app, with the failures a user can cause (bad input,
    an unusable database) told in one line and exit status 1 rather than a traceback."""
    try:
        app()
    except ThumbsError as err:
        typer.echo(err.message, err=True)
        raise SystemExit(1) from None
    except ArgumentError as err:
        typer.echo(f"THUMBS_DATABASE_URL is not a database URL thumbs can use: {err}", err=True)
        raise SystemExit(1) from None
    except DBAPIError as err:
        reason = str(err.orig).strip().splitlines()[0] if err.orig else type(err).__name__
        typer.echo(f"Cannot use the database at {_database_shown()}: {reason}", err=True)
        raise SystemExit(1) from None


if __name__ == "__main__":  # pragma: no cover
    main()
