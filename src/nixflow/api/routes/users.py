"""Users and categories (admin)."""

from __future__ import annotations

import anyio.to_thread
from fastapi import APIRouter, Depends

from nixflow.api.deps import App, Ctx, GuardedRoute, PathId, admin_only
from nixflow.api.schemas import CategoryCreate, CategoryRead, CategoryUpdate, UserCreate, UserRead, UserUpdate
from nixflow.domain.values import Role
from nixflow.services import auth, sla_policies, users

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
async def list_users(app: App) -> list[UserRead]:
    """Every user."""
    return [UserRead(**u) for u in await app.db.read(users.list_users)]


@router.get("/users/{user_id}", response_model=UserRead)
async def get_user(user_id: PathId, app: App) -> UserRead:
    """One user."""
    return UserRead(**await app.db.read(lambda conn: users.get_user(conn, user_id=user_id)))


@router.patch("/users/{user_id}", response_model=UserRead)
async def update_user(user_id: PathId, body: UserUpdate, app: App, ctx: Ctx) -> UserRead:
    """Change a user's name, role, active flag, approver right or categories."""
    changes = body.model_dump(exclude_unset=True)
    return UserRead(**await app.writer.run(lambda tx: users.update_user(tx, user_id=user_id, changes=changes), ctx))


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
