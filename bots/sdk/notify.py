"""Sending messages to people: WeCom/DingTalk/Feishu group bots, e-mail, webhooks — via apprise.
SMS, which Chinese gateways accept only as approved templates, is :mod:`backroom.bots.sdk.sms`.

Targets are apprise URLs (``wecombot://KEY``, ``dingtalk://TOKEN``, ``feishu://TOKEN``,
``mailto://...``, ``json://host/path``). A target that carries a secret is written in config as a
reference (``env:WECOM_URL``) and resolved only when sending.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from backroom.bots.sdk.errors import ApplicationError
from backroom.bots.sdk.secrets import resolve_if_ref

__all__ = ["Notifier", "NotifyError"]

log = logging.getLogger(__name__)


class NotifyError(ApplicationError):
    """A message could not be delivered to one or more targets."""


class Notifier:
    """Delivers a title + body (+ attachments) to a list of apprise targets."""

    def __init__(self, targets: Sequence[str], secret: Callable[[str], str]) -> None:
        self.targets = list(targets)
        self._secret = secret

    def _urls(self) -> list[str]:
        return [resolve_if_ref(t, self._secret) for t in self.targets]

    def send(
        self,
        title: str,
        body: str,
        attachments: Sequence[Path] = (),
        *,
        targets: Sequence[str] | None = None,
        markdown: bool = True,
    ) -> None:
        import apprise

        urls = [resolve_if_ref(t, self._secret) for t in targets] if targets else self._urls()
        if not urls:
            return
        app = apprise.Apprise()
        for index, url in enumerate(urls):
            if not app.add(url):
                raise NotifyError(f"notification target #{index + 1} is not a valid apprise URL")
        attach = apprise.AppriseAttachment([str(p) for p in attachments]) if attachments else None
        ok = app.notify(
            title=title,
            body=body,
            attach=attach,
            body_format=apprise.NotifyFormat.MARKDOWN if markdown else apprise.NotifyFormat.TEXT,
        )
        if not ok:
            raise NotifyError(f"notification failed for at least one of {len(urls)} target(s)")
