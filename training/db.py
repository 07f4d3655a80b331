"""Declarative base with a constraint naming convention, so migrations have stable names."""

from datetime import UTC, datetime

from sqlalchemy import DDL, DateTime, MetaData, event
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, registry
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


class CreatedAtMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


LIKE_ESCAPE = "\\"


def literal_like(text: str) -> str:
    """`text` for a LIKE pattern, matched literally: `%`, `_` and the escape character typed in a search box are not
    wildcards (use with `escape=LIKE_ESCAPE`)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def create_triggers_with(
    metadata: MetaData, sqlite: tuple[str, ...], postgresql: tuple[str, ...], function: str
) -> None:
    """Run each dialect's trigger DDL after `create_all`, and drop PostgreSQL's trigger `function` after `drop_all`
    (the migrations create the same triggers for a database made by `flask db upgrade`)."""
    for statement in sqlite:
        event.listen(metadata, "after_create", DDL(statement).execute_if(dialect="sqlite"))
    for statement in postgresql:
        event.listen(metadata, "after_create", DDL(statement).execute_if(dialect="postgresql"))
    event.listen(metadata, "after_drop", DDL(f"DROP FUNCTION IF EXISTS {function}()").execute_if(dialect="postgresql"))
