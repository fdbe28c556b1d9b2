"""A stand-in for Request Tracker's user and group REST2 routes, for the onboarding demo.

Only what the ``accounts`` adapter's RT backend uses, in RT5's JSON shapes: users (create, read by
name, disable by ``DELETE``), user-defined groups (search by name, read), a user's groups (``PUT``
adds memberships), and tickets owned by a user (search, reassign). The tests prove the adapter
against a real RT (tests/realsystems/test_onboarding_rt.py); this exists so ``backroom demo`` needs
no RT installed. Authentication: ``Authorization: token <TOKEN>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

__all__ = ["AccountsWorld", "make_app"]


@dataclass
class AccountsWorld:
    token: str
    users: dict[int, dict[str, Any]] = field(default_factory=dict)
    groups: dict[int, str] = field(default_factory=dict)
    members: dict[int, set[int]] = field(default_factory=dict)  # group id -> user ids
    tickets: dict[int, dict[str, Any]] = field(default_factory=dict)
    next_id: int = 100

    def add_group(self, name: str) -> int:
        self.next_id += 1
        self.groups[self.next_id] = name
        self.members[self.next_id] = set()
        return self.next_id

    def user(self, key: str) -> dict[str, Any] | None:
        if key.isdigit() and int(key) in self.users:
            return self.users[int(key)]
        return next((u for u in self.users.values() if u["Name"] == key), None)


def make_app(world: AccountsWorld) -> FastAPI:
    app = FastAPI(title="Sandbox accounts (RT REST2 subset)", docs_url=None, redoc_url=None)

    @app.middleware("http")
    async def auth(request: Request, call_next: Any) -> Any:
        if request.headers.get("authorization") != f"token {world.token}":
            return JSONResponse({"message": "Unauthorized"}, status_code=401)
        return await call_next(request)

    def user_json(u: dict[str, Any]) -> dict[str, Any]:
        groups = [{"type": "group", "id": gid} for gid, ids in world.members.items() if u["id"] in ids]
        return {**u, "Memberships": groups}

    @app.post("/REST/2.0/user", status_code=201)
    async def create_user(request: Request) -> dict[str, Any]:
        body = await request.json()
        if world.user(body.get("Name", "")) is not None:
            raise HTTPException(400, "Name in use")
        world.next_id += 1
        world.users[world.next_id] = {
            "id": world.next_id,
            "Name": body["Name"],
            "EmailAddress": body.get("EmailAddress", ""),
            "RealName": body.get("RealName", ""),
            "Privileged": int(body.get("Privileged", 0)),
            "Disabled": 0,
        }
        return {"id": world.next_id, "type": "user"}

    @app.get("/REST/2.0/user/{key}")
    async def read_user(key: str) -> dict[str, Any]:
        u = world.user(key)
        if u is None:
            raise HTTPException(404, "Resource does not exist")
        return user_json(u)

    @app.delete("/REST/2.0/user/{key}", status_code=204)
    async def disable_user(key: str) -> None:
        u = world.user(key)
        if u is None:
            raise HTTPException(404, "Resource does not exist")
        u["Disabled"] = 1

    @app.put("/REST/2.0/user/{key}/groups")
    async def join(key: str, request: Request) -> list[Any]:
        u = world.user(key)
        if u is None:
            raise HTTPException(404, "Resource does not exist")
        results: list[Any] = []
        for gid in await request.json():
            if gid in world.members:
                world.members[gid].add(u["id"])
                results.append([1, "Member added"])
            else:
                results.append([0, f"Group {gid} not found"])
        return results

    @app.post("/REST/2.0/groups")
    async def find_groups(request: Request) -> dict[str, Any]:
        wanted = {c["field"]: c["value"] for c in await request.json()}
        items = [{"type": "group", "id": gid} for gid, name in world.groups.items() if name == wanted.get("Name")]
        return {"items": items, "count": len(items), "total": len(items)}

    @app.get("/REST/2.0/group/{gid}")
    async def read_group(gid: int) -> dict[str, Any]:
        if gid not in world.groups:
            raise HTTPException(404, "Resource does not exist")
        return {"id": gid, "Name": world.groups[gid], "Domain": "UserDefined"}

    @app.get("/REST/2.0/tickets")
    async def search(query: str = "") -> dict[str, Any]:
        match = re.search(r"Owner\s*=\s*'([^']*)'", query)
        owner = match.group(1) if match else None
        items = [
            {"type": "ticket", "id": tid}
            for tid, t in world.tickets.items()
            if t["Owner"] == owner and t["Status"] in ("new", "open", "stalled")
        ]
        return {"items": items, "count": len(items), "total": len(items)}

    @app.get("/REST/2.0/ticket/{tid}")
    async def read_ticket(tid: int) -> dict[str, Any]:
        t = world.tickets.get(tid)
        if t is None:
            raise HTTPException(404, "Resource does not exist")
        return {**t, "id": tid, "Owner": {"type": "user", "id": t["Owner"]}}

    @app.put("/REST/2.0/ticket/{tid}")
    async def update_ticket(tid: int, request: Request) -> list[str]:
        t = world.tickets.get(tid)
        if t is None:
            raise HTTPException(404, "Resource does not exist")
        owner = (await request.json()).get("Owner")
        if owner and world.user(owner) is not None:
            t["Owner"] = owner
            return [f"Ticket {tid}: Owner changed"]
        return [f"Ticket {tid}: That user does not exist"]  # RT answers 200 with the refusal in the body

    return app
