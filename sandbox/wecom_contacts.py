"""A stand-in for WeCom's (企业微信) server API, which cannot exist on this machine: access tokens,
contacts (members: create, get, update ``enable``; tags: list, get, add members) and an application's
messages (temporary media upload, file message to members). Every answer is HTTP 200 with
``errcode``/``errmsg`` in the body, as WeCom's are, refusals included."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request

__all__ = ["WecomWorld", "make_app"]


@dataclass
class WecomWorld:
    corpid: str
    corpsecret: str
    tags: dict[int, str] = field(default_factory=dict)
    tag_members: dict[int, set[str]] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)
    calls: list[str] = field(default_factory=list)
    media: dict[str, bytes] = field(default_factory=dict)
    #: (member, file bytes) per file message delivered
    delivered: list[tuple[str, bytes]] = field(default_factory=list)
    agentid: int = 1000002

    def add_tag(self, name: str) -> int:
        tagid = len(self.tags) + 1
        self.tags[tagid] = name
        self.tag_members[tagid] = set()
        return tagid


def make_app(world: WecomWorld) -> FastAPI:
    app = FastAPI(title="Sandbox WeCom contacts", docs_url=None, redoc_url=None)

    def bad_token(request: Request) -> dict[str, Any] | None:
        if request.query_params.get("access_token") not in world.tokens:
            return {"errcode": 40014, "errmsg": "invalid access_token"}
        return None

    @app.get("/cgi-bin/gettoken")
    async def gettoken(corpid: str = "", corpsecret: str = "") -> dict[str, Any]:
        if (corpid, corpsecret) != (world.corpid, world.corpsecret):
            return {"errcode": 40001, "errmsg": "invalid credential"}
        token = secrets.token_hex(16)
        world.tokens.add(token)
        return {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}

    @app.get("/cgi-bin/user/get")
    async def user_get(request: Request, userid: str = "") -> dict[str, Any]:
        if (err := bad_token(request)) is not None:
            return err
        user = world.users.get(userid)
        if user is None:
            return {"errcode": 60111, "errmsg": "userid not found"}
        return {"errcode": 0, "errmsg": "ok", **user}

    @app.post("/cgi-bin/user/create")
    async def user_create(request: Request) -> dict[str, Any]:
        if (err := bad_token(request)) is not None:
            return err
        body = await request.json()
        world.calls.append(f"create {body.get('userid')}")
        if body.get("userid") in world.users:
            return {"errcode": 60102, "errmsg": "userid existed"}
        world.users[body["userid"]] = {**body, "enable": 1, "status": 4}
        return {"errcode": 0, "errmsg": "created"}

    @app.post("/cgi-bin/user/update")
    async def user_update(request: Request) -> dict[str, Any]:
        if (err := bad_token(request)) is not None:
            return err
        body = await request.json()
        world.calls.append(f"update {body.get('userid')}")
        user = world.users.get(body.get("userid", ""))
        if user is None:
            return {"errcode": 60111, "errmsg": "userid not found"}
        user.update({k: v for k, v in body.items() if k != "userid"})
        return {"errcode": 0, "errmsg": "updated"}

    @app.get("/cgi-bin/tag/list")
    async def tag_list(request: Request) -> dict[str, Any]:
        if (err := bad_token(request)) is not None:
            return err
        return {"errcode": 0, "errmsg": "ok", "taglist": [{"tagid": i, "tagname": n} for i, n in world.tags.items()]}

    @app.get("/cgi-bin/tag/get")
    async def tag_get(request: Request, tagid: int = 0) -> dict[str, Any]:
        if (err := bad_token(request)) is not None:
            return err
        if tagid not in world.tags:
            return {"errcode": 40068, "errmsg": "invalid tagid"}
        members = [
            {"userid": u, "name": world.users.get(u, {}).get("name", "")} for u in sorted(world.tag_members[tagid])
        ]
        return {"errcode": 0, "errmsg": "ok", "tagname": world.tags[tagid], "userlist": members}

    @app.post("/cgi-bin/tag/addtagusers")
    async def tag_add(request: Request) -> dict[str, Any]:
        if (err := bad_token(request)) is not None:
            return err
        body = await request.json()
        world.calls.append(f"tag {body.get('tagid')} {body.get('userlist')}")
        tagid = int(body.get("tagid", 0))
        if tagid not in world.tags:
            return {"errcode": 40068, "errmsg": "invalid tagid"}
        invalid = [u for u in body.get("userlist", []) if u not in world.users]
        world.tag_members[tagid].update(u for u in body.get("userlist", []) if u in world.users)
        return {"errcode": 0, "errmsg": "ok", **({"invalidlist": "|".join(invalid)} if invalid else {})}

    @app.post("/cgi-bin/media/upload")
    async def upload(request: Request) -> dict[str, Any]:
        if (err := bad_token(request)) is not None:
            return err
        form = await request.form()
        media = form.get("media")
        if media is None or isinstance(media, str):
            return {"errcode": 41001, "errmsg": "media data missing"}
        media_id = secrets.token_hex(8)
        world.media[media_id] = await media.read()
        return {"errcode": 0, "errmsg": "ok", "type": "file", "media_id": media_id}

    @app.post("/cgi-bin/message/send")
    async def send(request: Request) -> dict[str, Any]:
        if (err := bad_token(request)) is not None:
            return err
        body = await request.json()
        if int(body.get("agentid", 0)) != world.agentid:
            return {"errcode": 301002, "errmsg": "not allow operate another agent with this accesstoken"}
        media_id = body.get("file", {}).get("media_id", "")
        if media_id not in world.media:
            return {"errcode": 40007, "errmsg": "invalid media_id"}
        invalid = []
        for member in str(body.get("touser", "")).split("|"):
            if member in world.users and world.users[member].get("enable", 1):
                world.delivered.append((member, world.media[media_id]))
            else:
                invalid.append(member)
        return {"errcode": 0, "errmsg": "ok", "invaliduser": "|".join(invalid), "msgid": secrets.token_hex(6)}

    return app
