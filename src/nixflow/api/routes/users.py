"""Users and categories (admin)."""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Query, Request, Response

from nixflow.api.deps import App, Ctx, GuardedRoute, PathId, admin_only
from nixflow.api.schemas import (
    CategoryCreate,
    CategoryRead,
    CategoryUpdate,
    RoleName,
    UserAdminRead,
    UserCreate,
    UserRead,
    UserUpdate,
)
from nixflow.domain.values import Role
from nixflow.services import auth, sla_policies, user_admin, user_fields, users
from nixflow.store import event_log
from nixflow.store.db import Tx

router = APIRouter(prefix="/api", tags=["users"], route_class=GuardedRoute, dependencies=[Depends(admin_only)])


@router.post("/users", response_model=UserRead, status_code=201)
async def create_user(body: UserCreate, app: App, ctx: Ctx) -> UserRead:
    """Create a user."""
    password_hash = await anyio.to_thread.run_sync(auth.hash_password, body.password)
    created = await app.writer.run(
        lambda tx: users.create_user(
            tx,
            email=body.email,
            name=body.name,
            role=Role(body.role),
            password_hash=password_hash,
            category_ids=body.category_ids,
            can_approve=body.can_approve,
        ),
        ctx,
    )
    return UserRead(**created)


@router.get("/users", response_model=list[UserRead])
async def list_users(
    app: App,
    request: Request,
    response: Response,
    q: Annotated[str | None, Query(max_length=200, description="Part of the name or email, any case.")] = None,
    role: RoleName | None = None,
    active: bool | None = None,
    limit: Annotated[int | None, Query(ge=1, le=500, description="A page of this many; none: every match.")] = None,
    cursor: Annotated[str | None, Query(pattern=event_log.CURSOR_PATTERN)] = None,
) -> list[UserRead]:
    """Users by id (without filters: every user, the system user included), filtered by name or email, role and
    active flag; with `limit`, a page, and a `Link: <...>; rel="next"` header while more follow."""
    if q is None and role is None and active is None and limit is None and cursor is None:
        return [UserRead(**u) for u in await app.db.read(users.list_users)]
    after = event_log.decode_cursor(cursor) if cursor else None
    found, last = await app.db.read(
        lambda conn: user_admin.search(
            conn, q=q, role=Role(role) if role else None, active=active, limit=limit, after_id=after
        )
    )
    if last is not None:
        following = request.url.include_query_params(cursor=event_log.encode_cursor(last))
        response.headers["link"] = f'<{following.path}?{following.query}>; rel="next"'
    return [UserRead(**u) for u in found]


# `{user_id:int}`: "import" is not a user id, so OPTIONS and 405s at /users/import name only its POST.
@router.get("/users/{user_id:int}", response_model=UserAdminRead)
async def get_user(user_id: PathId, app: App) -> UserAdminRead:
    """One user, with their custom field values."""
    return UserAdminRead(**await app.db.read(lambda conn: users.get_user(conn, user_id=user_id)))


@router.patch("/users/{user_id:int}", response_model=UserAdminRead)
async def update_user(user_id: PathId, body: UserUpdate, app: App, ctx: Ctx) -> UserAdminRead:
    """Change a user's name, email (unique), role, active flag, approver right or categories. Deactivating ends
    their sessions and API tokens, and their open tickets go to other agents by the assignment rules (or back to
    the Unassigned queue), as the deactivation preview says; the last
    active admin can be neither demoted nor deactivated (409). `fields`: custom user fields, merged (a null
    clears one); a value its definition refuses is a 422 naming it, and nothing changes."""
    changes = body.model_dump(exclude_unset=True, exclude={"fields"})

    def update(tx: Tx) -> dict[str, Any]:
        updated = user_admin.update(tx, user_id=user_id, changes=changes)
        return user_fields.change(tx, user_id=user_id, values=body.fields) if body.fields else updated

    return UserAdminRead(**await app.writer.run(update, ctx))


@router.post("/categories", response_model=CategoryRead, status_code=201)
async def create_category(body: CategoryCreate, app: App, ctx: Ctx) -> CategoryRead:
    """Create a category with its eligible agents."""
    return CategoryRead(
        **await app.writer.run(
            lambda tx: users.create_category(
                tx, name=body.name, agent_ids=body.agent_ids, calendar_id=body.calendar_id
            ),
            ctx,
        )
    )


@router.get("/categories", response_model=list[CategoryRead])
async def list_categories(app: App) -> list[CategoryRead]:
    """Every category."""
    return [CategoryRead(**c) for c in await app.db.read(users.list_categories)]


@router.patch("/categories/{category_id}", response_model=CategoryRead)
async def update_category(category_id: PathId, body: CategoryUpdate, app: App, ctx: Ctx) -> CategoryRead:
    """Rename a category, set the agents eligible for round-robin in it, or its business-hours calendar."""
    calendar = {"calendar_id": body.calendar_id} if "calendar_id" in body.model_fields_set else None
    return CategoryRead(
        **await app.writer.run(
            lambda tx: users.update_category(
                tx,
                category_id=category_id,
                name=body.name,
                agent_ids=body.agent_ids,
                calendar=calendar,
                retime=sla_policies.retime_category,
            ),
            ctx,
        )
    )
