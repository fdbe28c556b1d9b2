"""The company directory in WeCom's (企业微信) contacts API shape: ``kind = "wecom"``.

``url`` is the API root (``https://qyapi.weixin.qq.com``), ``username`` the corp id and ``token`` a
reference to the contacts secret. Groups are tags (标签), found by name. Disabling sets ``enable = 0``:
the member can no longer log in and their sessions end. There is no ticket queue here, so a member
owns no open work. WeCom answers every refusal with HTTP 200 and a non-zero ``errcode`` in the body;
each one is read as the error it is. DingTalk and Feishu contacts APIs differ in names, not in shape:
one backend each, beside this one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from backroom.bots.sdk.system import SystemSettings
from backroom.bots.systems.accounts.base import (
    Account,
    AccountDirectory,
    AccountRefused,
    AccountSystemError,
    NewAccount,
)

__all__ = ["WecomDirectory"]

_NO_SUCH_USER = 60111
_TOKEN_EXPIRED = (40014, 42001)


class WecomDirectory(AccountDirectory):
    def __init__(self, settings: SystemSettings, secret: Callable[[str], str]) -> None:
        if not settings.url or not settings.username or not settings.token:
            raise AccountSystemError("a wecom system needs url, username (the corp id) and token (the contacts secret)")
        self._root = settings.url.rstrip("/") + "/cgi-bin"
        self._corp = settings.username
        self._secret_ref = settings.token
        self._secret = secret
        self._client = httpx.Client(timeout=settings.timeout)
        self._token: str | None = None
        self._expires = 0.0
        self._tags: dict[str, int] | None = None

    def _access_token(self) -> str:
        if self._token is None or time.monotonic() > self._expires:
            data = self._get(
                "gettoken", {"corpid": self._corp, "corpsecret": self._secret(self._secret_ref)}, auth=False
            )
            self._token = str(data["access_token"])
            self._expires = time.monotonic() + int(data.get("expires_in", 7200)) - 300
        return self._token

    def _checked(self, response: httpx.Response, what: str) -> dict[str, Any]:
        if response.status_code != 200:
            raise AccountSystemError(f"WeCom {what}: HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            raise AccountSystemError(f"WeCom {what}: not JSON") from None
        return data

    def _get(self, path: str, params: dict[str, Any], *, auth: bool = True) -> dict[str, Any]:
        for _ in range(2):
            query = {**params, "access_token": self._access_token()} if auth else params
            try:
                data = self._checked(self._client.get(f"{self._root}/{path}", params=query), path)
            except httpx.HTTPError as exc:
                raise AccountSystemError(f"WeCom {path}: {type(exc).__name__}") from None
            if data.get("errcode") in _TOKEN_EXPIRED and auth:
                self._token = None
                continue
            return data
        return data

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        for _ in range(2):
            try:
                response = self._client.post(
                    f"{self._root}/{path}", params={"access_token": self._access_token()}, json=body
                )
            except httpx.HTTPError as exc:
                raise AccountSystemError(f"WeCom {path}: {type(exc).__name__}") from None
            data = self._checked(response, path)
            if data.get("errcode") in _TOKEN_EXPIRED:
                self._token = None
                continue
            return data
        return data

    def _tag_ids(self) -> dict[str, int]:
        if self._tags is None:
            data = self._get("tag/list", {})
            if data.get("errcode"):
                raise AccountSystemError(f"WeCom tag/list: errcode {data.get('errcode')} {data.get('errmsg', '')}")
            self._tags = {t["tagname"]: int(t["tagid"]) for t in data.get("taglist", [])}
        return self._tags

    def find(self, login: str) -> Account | None:
        data = self._get("user/get", {"userid": login})
        if data.get("errcode") == _NO_SUCH_USER:
            return None
        if data.get("errcode"):
            raise AccountSystemError(f"WeCom user/get: errcode {data['errcode']} {data.get('errmsg', '')}")
        groups = set()
        for name, tagid in self._tag_ids().items():
            members = self._get("tag/get", {"tagid": tagid}).get("userlist", [])
            if any(m.get("userid") == login for m in members):
                groups.add(name)
        return Account(
            id=str(data["userid"]),
            login=str(data["userid"]),
            email=str(data.get("email", "")),
            disabled=int(data.get("enable", 1)) == 0,
            groups=frozenset(groups),
        )

    def create(self, new: NewAccount) -> Account:
        body = {"userid": new.login, "name": new.real_name, "email": new.email, "department": [1]}
        data = self._post("user/create", body)
        if data.get("errcode"):
            raise AccountRefused(
                f"WeCom refused member {new.login!r}: errcode {data['errcode']} {data.get('errmsg', '')}"
            )
        found = self.find(new.login)
        if found is None:
            raise AccountSystemError(f"WeCom said member {new.login!r} was created, but it cannot be read back")
        return found

    def add_to_groups(self, login: str, groups: list[str]) -> Account:
        tags = self._tag_ids()
        unknown = [g for g in groups if g not in tags]
        if unknown:
            raise AccountRefused(f"WeCom has no tag {', '.join(unknown)}")
        for group in groups:
            data = self._post("tag/addtagusers", {"tagid": tags[group], "userlist": [login]})
            if data.get("errcode") or data.get("invalidlist"):
                raise AccountRefused(f"WeCom kept {login!r} out of tag {group!r}: errcode {data.get('errcode')}")
        found = self.find(login)
        missing = sorted(set(groups) - set(found.groups if found else ()))
        if found is None or missing:
            raise AccountRefused(f"WeCom kept {login!r} out of {', '.join(missing)}")
        return found

    def disable(self, login: str) -> Account:
        data = self._post("user/update", {"userid": login, "enable": 0})
        if data.get("errcode"):
            raise AccountSystemError(f"WeCom disabling {login!r}: errcode {data['errcode']} {data.get('errmsg', '')}")
        found = self.find(login)
        if found is None or not found.disabled:
            raise AccountSystemError(f"WeCom still shows {login!r} enabled after disabling it")
        return found

    def open_work(self, login: str) -> list[str]:
        return []

    def reassign(self, item: str, to_login: str) -> str:
        raise AccountRefused("a WeCom directory holds no work items to reassign")

    def close(self) -> None:
        self._client.close()
