"""Every column that names a user is one an erasure handles: deleted with their rows, or kept as an id on purpose
(`store/erasure.py`). A table added later with a user column fails here until its author says which."""

from __future__ import annotations

import re

from sqlalchemy import BigInteger, Column, ForeignKey, MetaData, Table

from nixflow.store import erasure
from nixflow.store.tables import metadata

# Columns without a foreign key that still hold a user's id, by the names the schema gives them.
NAMED_FOR_A_USER = re.compile(r"^(user|assignee|author|requester|agent|recipient|owner|actor|delegate)_id$|_by$")


def user_columns(schema: MetaData) -> set[str]:
    """`table.column` for each column referencing `users.id`, or named as holding a user's id."""
    found = set()
    for table in schema.sorted_tables:
        for column in table.columns:
            references = any(key.target_fullname == "users.id" for key in column.foreign_keys)
            if references or NAMED_FOR_A_USER.search(column.name):
                found.add(f"{table.name}.{column.name}")
    return found


def test_every_column_naming_a_user_is_handled_by_erasure() -> None:
    handled = erasure.handled_columns()
    columns = user_columns(metadata)
    assert not columns - set(handled), "user columns erasure does not handle: say what it does in store/erasure.py"
    assert not set(handled) - columns, "store/erasure.py names columns that no longer exist"


def test_a_new_table_with_a_user_column_is_caught() -> None:
    schema = MetaData()
    Table("users", schema, Column("id", BigInteger, primary_key=True))
    Table("badges", schema, Column("id", BigInteger, primary_key=True), Column("holder", ForeignKey("users.id")))
    Table("kudos", schema, Column("id", BigInteger, primary_key=True), Column("given_by", BigInteger))
    assert user_columns(schema) - set(erasure.handled_columns()) == {"badges.holder", "kudos.given_by"}
