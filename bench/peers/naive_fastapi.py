"""The naive ceiling: a FastAPI app that only inserts a ticket row and one event row per POST /api/tickets.

    python bench/peers/naive_fastapi.py <sqlite file> <port> <bearer token>

What a team would write first: SQLAlchemy's async ORM over aiosqlite, one pooled connection (with several, SQLite's
busy handler backs off and the p99 explodes), WAL and synchronous=NORMAL, the same JSON body as NixFlow's
`POST /api/tickets` validated by a pydantic model, the bearer token checked by a dict lookup, and the response the
new ticket. No rules, no assignment, no SLA, no outbox, no WebSocket: what NixFlow's automation costs is the gap.
It runs in NixFlow's own interpreter (same FastAPI, uvicorn, SQLAlchemy and aiosqlite) under uvicorn with the
settings `nixflow serve` uses: loop and HTTP parser chosen by uvicorn (uvloop and httptools), no access log, the
same GIL switch interval.
"""

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

import uvicorn
from fastapi import Depends, FastAPI, Header, HTTPException
from pydantic import BaseModel
from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, event
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from nixflow.cli.serve import SWITCH_INTERVAL_SECONDS


def _now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Ticket(Base):
    __tablename__ = "tickets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="new")
    priority: Mapped[str] = mapped_column(String(20), default="normal")
    category_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class EventLog(Base):
    __tablename__ = "event_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    aggregate_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class TicketCreate(BaseModel):
    title: str
    description: str = ""
    category_id: int | None = None
    priority: str | None = None


class TicketRead(BaseModel):
    id: int
    title: str
    description: str
    status: str
    priority: str
    category_id: int | None
    created_at: datetime


def create_app(db_file: str, tokens: dict[str, int]) -> FastAPI:
    engine = create_async_engine(f"sqlite+aiosqlite:///{db_file}", pool_size=1, max_overflow=0, pool_timeout=30)

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_con: Any, _record: Any) -> None:
        cursor = dbapi_con.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()

    sessions = async_sessionmaker(engine, expire_on_commit=False)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        yield
        await engine.dispose()

    def user_id(authorization: Annotated[str, Header()] = "") -> int:
        found = tokens.get(authorization.removeprefix("Bearer "))
        if found is None:
            raise HTTPException(401, "not signed in")
        return found

    app = FastAPI(lifespan=lifespan)

    @app.get("/api/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/api/tickets", status_code=201, response_model=TicketRead)
    async def create_ticket(body: TicketCreate, _user: Annotated[int, Depends(user_id)]) -> Ticket:
        async with sessions() as session, session.begin():
            row = Ticket(title=body.title, description=body.description, priority=body.priority or "normal",
                         category_id=body.category_id)  # fmt: skip
            session.add(row)
            await session.flush()
            session.add(EventLog(aggregate_id=row.id, type="ticket.created", payload={"ticket_id": row.id}))
        return row

    return app


def main(db_file: str, port: int, token: str) -> None:
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    uvicorn.run(create_app(db_file, {token: 1}), host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
