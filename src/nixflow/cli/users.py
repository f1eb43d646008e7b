"""`users create` and `tokens create|list|revoke`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer

from nixflow.cli._common import _ctx, _fail, _nixflow, _table
from nixflow.domain.errors import DomainError
from nixflow.domain.values import Role

users_cli = typer.Typer(help="Users.", no_args_is_help=True)
tokens_cli = typer.Typer(help="API tokens.", no_args_is_help=True)


@users_cli.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="Login email.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    role: Annotated[str, typer.Option(help="admin, agent or requester.")],
    password: Annotated[str, typer.Option(help="At least 8 characters.", prompt=True, hide_input=True)],
    category: Annotated[list[str] | None, typer.Option(help="Category name (created if new); repeatable.")] = None,
    approver: Annotated[bool, typer.Option(help="May approve tickets.")] = False,
) -> None:
    """Create a user and print its id."""
    from nixflow.services import auth, users

    if role not in ("admin", "agent", "requester"):
        raise _fail("--role must be admin, agent or requester")
    if len(password) < auth.MIN_PASSWORD:
        raise _fail(f"--password must be at least {auth.MIN_PASSWORD} characters")
    password_hash = auth.hash_password(password)

    def create(tx: Any) -> int:
        known = {c["name"]: c["id"] for c in users.list_categories(tx.conn)}
        ids = [known[n] if n in known else users.create_category(tx, name=n)["id"] for n in category or []]
        user = users.create_user(
            tx,
            email=email,
            name=name,
            role=Role(role),
            password_hash=password_hash,
            category_ids=ids,
            can_approve=approver,
        )
        return int(user["id"])

    with _nixflow() as app:
        typer.echo(app.writer.run_sync(create, _ctx()))


@users_cli.command("list")
def users_list() -> None:
    """Every user, with role, state and the categories they are assigned work in."""
    from nixflow.services import users

    def read(conn: Any) -> tuple[list[dict[str, Any]], dict[int, str]]:
        return users.list_users(conn), {c["id"]: c["name"] for c in users.list_categories(conn)}

    with _nixflow() as app:
        people, category_names = app.db.read_sync(read)
    rows = [
        [
            str(u["id"]),
            u["email"],
            u["name"],
            u["role"],
            "yes" if u["active"] else "no",
            ", ".join(category_names.get(c, str(c)) for c in u["category_ids"]) or "-",
        ]
        for u in people
    ]
    _table(rows, ["id", "email", "name", "role", "active", "categories"])


@users_cli.command("export")
def users_export(user_id: Annotated[int, typer.Argument(help="The user's id.")]) -> None:
    """Print everything NixFlow holds about the user as JSON (no secrets; attachments with download paths)."""
    import json

    from nixflow.services import personal_data

    with _nixflow() as app:
        found = app.db.read_sync(lambda conn: personal_data.export(conn, user_id=user_id))
    typer.echo(json.dumps(found, indent=2, ensure_ascii=False))


@users_cli.command("erase")
def users_erase(
    user_id: Annotated[int, typer.Argument(help="The user's id.")],
    confirm: Annotated[str, typer.Option(help="The user's email address, typed again.")],
    reason: Annotated[str | None, typer.Option(help="Why (kept in the `user.erased` event).")] = None,
) -> None:
    """Erase the user's personal data, in the tables and the event log (see docs/architecture.md, "Erasure")."""
    from nixflow.services import erasure

    with _nixflow() as app:
        done = app.writer.run_sync(
            lambda tx: erasure.erase(tx, user_id=user_id, confirm=confirm, reason=reason), _ctx()
        )
    typer.echo(
        f"user {user_id} erased: {done['tickets']} ticket(s), {done['comments']} comment(s), "
        f"{done['attachments']} file(s), {done['mails']} mail(s), {done['events_rewritten']} event(s) rewritten"
    )


@users_cli.command("set-password")
def users_set_password(
    email: Annotated[str, typer.Option(help="Login email.")],
    password: Annotated[
        str, typer.Option(help="At least 8 characters.", prompt=True, hide_input=True, confirmation_prompt=True)
    ],
) -> None:
    """Give a user a new password (an operator's reset); their sessions end, their API tokens stay."""
    from nixflow.services import auth, users

    if len(password) < auth.MIN_PASSWORD:
        raise _fail(f"--password must be at least {auth.MIN_PASSWORD} characters")
    password_hash = auth.hash_password(password)

    def reset(tx: Any) -> int:
        row = users.find_by_email(tx.conn, email=email)
        if row is None or row.id == 0:
            raise DomainError(f"no user with email {email}")
        return auth.set_password(tx, user_id=int(row.id), password_hash=password_hash)

    with _nixflow() as app:
        ended = app.writer.run_sync(reset, _ctx())
    typer.echo(f"password changed; {ended} session(s) ended")


@tokens_cli.command("create")
def tokens_create(email: Annotated[str, typer.Option(help="The user's email.")]) -> None:
    """Print a new API token for a user (shown once; stored hashed)."""
    from nixflow import crypto
    from nixflow.services import auth, users

    def create(tx: Any) -> str:
        row = users.find_by_email(tx.conn, email=email)
        if row is None or row.id == 0:
            raise DomainError(f"no user with email {email}")
        return auth.issue_token(tx, keys=keys, user_id=int(row.id), kind="api", lifetime=None).token

    with _nixflow() as app:
        keys = crypto.keyring(app.settings)
        typer.echo(app.writer.run_sync(create, _ctx()))


@tokens_cli.command("revoke")
def tokens_revoke(token_id: Annotated[int, typer.Argument(help="The token's id.")]) -> None:
    """Revoke an API token or session at once."""
    from sqlalchemy import select

    from nixflow.services import auth
    from nixflow.store.tables import api_tokens

    def revoke(tx: Any) -> None:
        user_id = tx.conn.execute(select(api_tokens.c.user_id).where(api_tokens.c.id == token_id)).scalar()
        if user_id is None:
            raise DomainError(f"no token {token_id}")
        auth.revoke(tx, token_id=token_id, user_id=int(user_id))

    with _nixflow() as app:
        app.writer.run_sync(revoke, _ctx())
        typer.echo(f"token {token_id} revoked")


@tokens_cli.command("list")
def tokens_list(email: Annotated[str, typer.Option(help="The user's email.")]) -> None:
    """A user's sessions and API tokens, with the ids `tokens revoke` takes (never the secrets)."""
    from nixflow.services import auth, users

    def find(conn: Any) -> list[dict[str, Any]]:
        row = users.find_by_email(conn, email=email)
        if row is None or row.id == 0:
            raise DomainError(f"no user with email {email}")
        return auth.list_tokens(conn, user_id=int(row.id))

    def when(moment: datetime | None) -> str:
        return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"

    with _nixflow() as app:
        tokens = app.db.read_sync(find)
    rows = [
        [
            str(t["id"]),
            t["kind"],
            when(t["created_at"]),
            when(t["last_used_at"]),
            t["last_address"] or "-",
            when(t["expires_at"]),
            when(t["revoked_at"]),
        ]
        for t in tokens
    ]
    _table(rows, ["id", "kind", "created (UTC)", "last used", "from", "expires", "revoked"])
