"""Request Tracker 5 accounts through REST2 (``/REST/2.0/user``, ``/user/NAME/groups``, ``/group``).

RT answers some refusals with HTTP 200 and the refusal in the body (a list of messages), so every
write is read back: a user is created when ``GET /user/NAME`` shows it, a membership when the user's
``Memberships`` list the group, a disabling when ``Disabled`` is 1. Disabling is RT's own way to
remove a user (``DELETE /user/ID``): the login and its auth tokens stop working; history stays.
Queue rights come from the groups (RT grants rights to groups; REST2 has no rights endpoint).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx

from backroom.bots.sdk.system import SystemSettings
from backroom.bots.systems.accounts.base import (
    Account,
    AccountDirectory,
    AccountRefused,
    AccountSystemError,
    NewAccount,
)

__all__ = ["RtAccounts"]


class RtAccounts(AccountDirectory):
    def __init__(self, settings: SystemSettings, secret: Callable[[str], str]) -> None:
        from backroom.bots.sdk.http import make_client

        if not settings.url:
            raise AccountSystemError("the RT system needs a url (https://rt.example.com)")
        options = dict(settings.options)
        options.setdefault("auth_scheme", "token")
        self._client = make_client(settings.model_copy(update={"options": options}), secret)
        self._base = settings.url.rstrip("/") + "/REST/2.0"
        self._group_ids: dict[str, str] = {}
        self._group_names: dict[str, str] = {}

    # -- plumbing ------------------------------------------------------------------------------
    def _json(self, response: httpx.Response, what: str) -> Any:
        try:
            return response.json()
        except ValueError:
            raise AccountSystemError(f"RT {what}: HTTP {response.status_code}, not JSON") from None

    def _call(self, method: str, path: str, what: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._client.request(method, self._base + path, **kwargs)
        except httpx.HTTPError as exc:
            raise AccountSystemError(f"RT {what}: {type(exc).__name__}") from None
        if response.status_code in (401, 403):
            raise AccountSystemError(f"RT {what}: HTTP {response.status_code} (the bot's token lacks the right)")
        if response.status_code >= 500:
            raise AccountSystemError(f"RT {what}: HTTP {response.status_code}")
        return response

    def _group_id(self, name: str) -> str:
        if name not in self._group_ids:
            response = self._call(
                "POST",
                "/groups",
                f"finding group {name!r}",
                json=[{"field": "Name", "value": name}, {"field": "Domain", "value": "UserDefined"}],
            )
            items = self._json(response, f"finding group {name!r}").get("items", [])
            if not items:
                raise AccountRefused(f"RT has no group {name!r}: create it and grant it the queue rights first")
            self._group_ids[name] = str(items[0]["id"])
            self._group_names[str(items[0]["id"])] = name
        return self._group_ids[name]

    def _group_name(self, gid: str) -> str:
        if gid not in self._group_names:
            data = self._json(self._call("GET", f"/group/{gid}", f"reading group {gid}"), f"reading group {gid}")
            self._group_names[gid] = str(data.get("Name", gid))
        return self._group_names[gid]

    # -- the interface ---------------------------------------------------------------------------
    def find(self, login: str) -> Account | None:
        response = self._call("GET", f"/user/{quote(login, safe='')}", f"reading user {login!r}")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise AccountSystemError(f"RT reading user {login!r}: HTTP {response.status_code}")
        data = self._json(response, f"reading user {login!r}")
        groups = frozenset(
            self._group_name(str(m["id"])) for m in data.get("Memberships", []) if m.get("type") == "group"
        )
        return Account(
            id=str(data["id"]),
            login=str(data.get("Name", login)),
            email=str(data.get("EmailAddress") or ""),
            disabled=bool(int(data.get("Disabled") or 0)),
            groups=groups,
        )

    def create(self, new: NewAccount) -> Account:
        body = {
            "Name": new.login,
            "EmailAddress": new.email,
            "RealName": new.real_name,
            "Organization": new.organization,
            "Privileged": 1,
        }
        response = self._call("POST", "/user", f"creating user {new.login!r}", json=body)
        if response.status_code not in (200, 201):
            message = self._json(response, f"creating user {new.login!r}").get("message", "")
            raise AccountRefused(f"RT refused user {new.login!r}: {message or response.status_code}")
        found = self.find(new.login)
        if found is None:
            raise AccountSystemError(f"RT said user {new.login!r} was created, but it cannot be read back")
        return found

    def add_to_groups(self, login: str, groups: list[str]) -> Account:
        ids = [int(self._group_id(name)) for name in groups]
        response = self._call("PUT", f"/user/{quote(login, safe='')}/groups", f"adding {login!r} to groups", json=ids)
        if response.status_code != 200:
            raise AccountRefused(f"RT refused the groups of {login!r}: HTTP {response.status_code}")
        found = self.find(login)
        missing = sorted(set(groups) - set(found.groups if found else ()))
        if found is None or missing:
            raise AccountRefused(f"RT kept {login!r} out of {', '.join(missing) or 'its groups'}")
        return found

    def disable(self, login: str) -> Account:
        found = self.find(login)
        if found is None:
            raise AccountRefused(f"RT has no user {login!r} to disable")
        if not found.disabled:
            response = self._call("DELETE", f"/user/{found.id}", f"disabling {login!r}")
            if response.status_code not in (200, 204):
                raise AccountSystemError(f"RT disabling {login!r}: HTTP {response.status_code}")
            found = self.find(login)
        if found is None or not found.disabled:
            raise AccountSystemError(f"RT still shows {login!r} enabled after disabling it")
        return found

    def open_work(self, login: str) -> list[str]:
        query = f"Owner = '{login}' AND Status = '__Active__'"
        response = self._call("GET", "/tickets", f"open tickets of {login!r}", params={"query": query, "per_page": 100})
        data = self._json(response, f"open tickets of {login!r}")
        return [str(item["id"]) for item in data.get("items", [])]

    def reassign(self, item: str, to_login: str) -> str:
        self._call("PUT", f"/ticket/{item}", f"reassigning ticket {item}", json={"Owner": to_login})
        data = self._json(self._call("GET", f"/ticket/{item}", f"reading ticket {item}"), f"reading ticket {item}")
        owner = data.get("Owner")
        owner = owner.get("id") if isinstance(owner, dict) else owner
        if owner != to_login:
            raise AccountRefused(f"RT kept ticket {item} with {owner!r}; {to_login!r} may lack OwnTicket in its queue")
        return str(owner)

    def close(self) -> None:
        self._client.close()
