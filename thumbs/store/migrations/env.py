from __future__ import annotations

from alembic import context

from thumbs.store.engine import StoreLimits, make_engine
from thumbs.store.models import Base

config = context.config
target_metadata = Base.metadata

# Objects made by hand-written SQL in migrations (full-text search), unknown to the models:
# autogenerate must not propose to drop them.
_HAND_MADE_PREFIXES = ("golden_examples_fts", "ix_golden_examples_fts")


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    return not (reflected and name is not None and name.startswith(_HAND_MADE_PREFIXES))


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    # a migration may rewrite a big table: no statement time limit
    engine = make_engine(url, limits=StoreLimits(statement_timeout=0), null_pool=True)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
            include_object=include_object,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
