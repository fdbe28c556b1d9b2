"""Mailbox trigger: a message in an IMAP folder starts its bot once, with its attachments.

    poll ── IMAP (imapclient) ── headers of every message in ``folder`` (not yet flagged)
        │ sender / subject filters on the headers; the whole message only for new ones
        ▼
    claim (bot, SHA-256 of Message-ID) in history ── a message starts its bot once, across restarts
        │ attachments matching ``attachments``/``types`` saved under the bot's inbox root
        ▼
    run queued with the saved paths as ``param``
        │ a later poll reads the run's status
        ▼
    succeeded ── message moved to ``move_to`` (or flagged), checked by reading the folder back
    failed    ── message stays; taken again after ``retry_after``

Nothing is ever deleted from the mailbox. Each poll is one short session (simple to keep correct
across server restarts and timeouts; a folder of a few hundred messages costs one header fetch).
Where the server has IDLE (and ``idle`` is on), one more session per mailbox waits in IDLE and asks
for a poll as soon as the server announces a new message, so mail is not left waiting for ``poll``;
polling goes on beside it (it files messages whose runs ended and retries failed ones).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import fnmatch
import hashlib
import ipaddress
import logging
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from pathlib import Path
from typing import Any

from backroom.bots.sdk.errors import ConfigError
from backroom.schedules.history import Run
from backroom.schedules.settings import MailSettings
from backroom.schedules.status import ACTIVE, RunStatus
from backroom.schedules.watcher import TriggerWatcher

__all__ = ["Attachment", "MailWatcher", "attachments_of", "connect", "message_key"]

log = logging.getLogger(__name__)

_HEADERS = "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID FROM SUBJECT)]"
_IDLE_RENEW_S = 25 * 60  # RFC 2177: a client re-issues IDLE at least every 29 minutes
_UNSAFE = re.compile(r"[^\w.\- ()\[\]一-鿿]+")


@dataclass(frozen=True)
class Attachment:
    name: str
    content_type: str
    data: bytes


def message_key(message_id: str | None, folder: str, uidvalidity: int, uid: int) -> str:
    """What identifies a message across restarts: its Message-ID, else its place in the mailbox."""
    ident = message_id.strip() if message_id and message_id.strip() else f"{folder}\0{uidvalidity}\0{uid}"
    return hashlib.sha256(ident.encode("utf-8", "surrogateescape")).hexdigest()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def security_problem(mail: MailSettings) -> str | None:
    """Why these settings may not be used, or None: a password is never sent in clear off this machine."""
    if mail.security == "none" and not _is_loopback(mail.host):
        return (
            f"security = 'none' sends the password in clear; allowed only for a server on loopback, not {mail.host!r}"
        )
    return None


def connect(mail: MailSettings, secret: Callable[[str], str], ca_file: Path | None = None) -> Any:
    """A logged-in IMAPClient for ``mail`` (TLS or STARTTLS unless the server is on loopback).

    The server's certificate is verified (host name included) against the system's CAs and, when
    given, ``ca_file`` (the resolved ``mail.ca_file``: a company CA, a self-signed server).
    """
    from imapclient import IMAPClient

    problem = security_problem(mail)
    if problem:
        raise ConfigError(problem)
    implicit = mail.security == "tls"
    port = mail.port or (993 if implicit else 143)
    context = ssl.create_default_context()
    if ca_file is not None:
        context.load_verify_locations(cafile=str(ca_file))
    client = IMAPClient(mail.host, port=port, ssl=implicit, ssl_context=context if implicit else None, timeout=30)
    try:
        if mail.security == "starttls":
            client.starttls(context)
        client.login(mail.user, secret(mail.password))
    except BaseException:
        with contextlib.suppress(OSError):  # a failed TLS handshake closed the socket: the first error tells
            client.shutdown()
        raise
    return client


def _matches(value: str, patterns: list[str]) -> bool:
    return not patterns or any(fnmatch.fnmatch(value.lower(), p.lower()) for p in patterns)


def headers_match(headers: Any, mail: MailSettings) -> bool:
    """Whether sender and subject pass the filters (each filter absent = any)."""
    sender = email.utils.parseaddr(str(headers.get("From", "")))[1]
    if not _matches(sender, mail.senders):
        return False
    subject = str(headers.get("Subject", "") or "")
    return mail.subject is None or fnmatch.fnmatch(subject.lower(), mail.subject.lower())


def attachments_of(message: EmailMessage, mail: MailSettings) -> list[Attachment]:
    """The attachments of ``message`` whose name and content type pass the filters."""
    found = []
    for part in message.iter_attachments():
        name = part.get_filename()
        if not name:
            continue
        content_type = part.get_content_type()
        if not _matches(name, mail.attachments) or not _matches(content_type, mail.types):
            continue
        data = part.get_payload(decode=True) or b""
        found.append(Attachment(name, content_type, data))
    return found


def _safe_name(name: str, taken: set[str]) -> str:
    """A file name that stays in its folder and is unique in it (the sender chose the original)."""
    base = _UNSAFE.sub("_", Path(name.replace("\\", "/")).name).strip(" .") or "attachment"
    candidate, n = base, 1
    while candidate.lower() in taken:
        n += 1
        stem, dot, ext = base.rpartition(".")
        candidate = f"{stem}-{n}.{ext}" if dot and stem else f"{base}-{n}"
    taken.add(candidate.lower())
    return candidate


class MailWatcher(TriggerWatcher):
    """Polls each bot's mailbox; one run per matching message, the message filed after success."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.errors: dict[str, str] = {}  # bot -> the last poll's error (cleared by a good poll)
        self._wake = threading.Event()
        self._idlers: list[threading.Thread] = []
        self.idling: dict[str, threading.Event] = {}  # bot -> set while its IDLE session waits

    def watched(self) -> dict[str, MailSettings]:
        return {name: b.mail for name, b in self.settings.bots.items() if b.enabled and b.mail is not None}

    def start(self) -> None:
        if not self.watched():
            return
        self._thread = threading.Thread(target=self._loop, name="mail-watcher", daemon=True)
        self._thread.start()
        for bot, mail in self.watched().items():
            if mail.idle:
                thread = threading.Thread(
                    target=self._idle_loop, args=(bot, mail), name=f"mail-idle-{bot}", daemon=True
                )
                thread.start()
                self._idlers.append(thread)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        for thread in [self._thread, *self._idlers]:
            if thread is not None:
                thread.join(timeout=10)

    def _idle_loop(self, bot: str, mail: MailSettings) -> None:
        """Wait in IDLE on ``bot``'s folder; wake the poller when the server announces a message."""
        while not self._stop.is_set():
            try:
                with self._session(mail) as client:
                    if not client.has_capability("IDLE"):
                        log.info("mailbox of %s: the server has no IDLE; polling every %s s", bot, mail.poll)
                        return
                    client.select_folder(mail.folder, readonly=True)
                    client.idle()
                    self.wake()  # whatever arrived while no IDLE session was up
                    self.idling.setdefault(bot, threading.Event()).set()
                    try:
                        began = time.monotonic()
                        while not self._stop.is_set() and time.monotonic() - began < _IDLE_RENEW_S:
                            news = client.idle_check(timeout=1)
                            if any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in news):
                                self.wake()
                    finally:
                        self.idling[bot].clear()
                        client.idle_done()
            except Exception as exc:
                why = self._resolver.redactor.redact(str(exc))
                log.warning("mailbox of %s: IDLE session ended (%s); polling meanwhile", bot, why)
                self._stop.wait(min(mail.poll, 60.0))

    def wake(self) -> None:
        """Poll now (a mail-triggered run ended: its message can be filed without waiting a whole poll)."""
        self._wake.set()

    def _loop(self) -> None:
        interval = min(m.poll for m in self.watched().values())
        while not self._stop.is_set():
            self.poll_once()
            self._wake.wait(interval)
            self._wake.clear()

    def poll_once(self) -> list[Run]:
        """One pass over every bot's mailbox; the runs submitted. A mailbox that fails is logged, kept in ``errors``."""
        submitted: list[Run] = []
        for bot, mail in self.watched().items():
            if self.is_paused(bot):
                continue
            try:
                submitted += self.poll_bot(bot, mail)
                self.errors.pop(bot, None)
            except Exception as exc:
                self.errors[bot] = self._resolver.redactor.redact(f"{type(exc).__name__}: {exc}")
                log.warning(
                    "mailbox of %s (%s@%s/%s) could not be read: %s",
                    bot,
                    mail.user,
                    mail.host,
                    mail.folder,
                    self.errors[bot],
                )
        return submitted

    @contextmanager
    def _session(self, mail: MailSettings) -> Iterator[Any]:
        client = connect(mail, self.secret, self.settings.path(mail.ca_file) if mail.ca_file else None)
        try:
            yield client
        finally:
            try:
                client.logout()
            except Exception:
                client.shutdown()

    def poll_bot(self, bot: str, mail: MailSettings) -> list[Run]:
        """One poll of one bot's folder (see the module docstring)."""
        submitted = []
        with self._session(mail) as client:
            validity = int(client.select_folder(mail.folder)[b"UIDVALIDITY"])
            uids = client.search(["ALL"])
            if not uids:
                return []
            fetched = client.fetch(uids, ["FLAGS", _HEADERS])
            candidates: dict[str, tuple[int, str | None]] = {}
            flag = mail.flag.encode()
            for uid, data in sorted(fetched.items()):
                if flag in data.get(b"FLAGS", ()):  # handled (flagged, or copied where the server cannot MOVE)
                    continue
                raw = next((v for k, v in data.items() if k.startswith(b"BODY[HEADER")), b"")
                headers = BytesHeaderParser(policy=policy.default).parsebytes(raw)
                if not headers_match(headers, mail):
                    continue
                message_id = str(headers.get("Message-ID", "") or "").strip() or None
                candidates[message_key(message_id, mail.folder, validity, uid)] = (uid, message_id)
            claims = self.history.mail_claims(bot, list(candidates))
            for key, (uid, message_id) in candidates.items():
                claim = claims.get(key)
                run = self._handle(client, bot, mail, key, uid, message_id, validity, claim)
                if run is not None:
                    submitted.append(run)
        return submitted

    def _handle(
        self,
        client: Any,
        bot: str,
        mail: MailSettings,
        key: str,
        uid: int,
        message_id: str | None,
        validity: int,
        claim: Any,
    ) -> Run | None:
        now = self.clock()
        if claim is None:
            message = self._fetch(client, uid)
            if not attachments_of(message, mail) and mail.require_attachment:
                self.history.claim_mail(
                    bot, key, message_id=message_id, folder=mail.folder, uidvalidity=validity, uid=uid, state="ignored"
                )
                return None
            if not self.history.claim_mail(
                bot, key, message_id=message_id, folder=mail.folder, uidvalidity=validity, uid=uid, now=now
            ):
                return None  # another poller took it first
            return self._start(bot, mail, key, uid, validity, message, attempt=1)
        if claim.state == "running":
            run = self.history.last_of_chain(claim.run_id) if claim.run_id else None
            if run is not None and (run.status in ACTIVE or self._retry_coming(bot, run, now)):
                return None
            if run is not None and RunStatus(run.status).ok:
                if self._file(client, mail, uid):
                    self.history.set_mail_state(bot, key, "done", now=now)
                return None
            self.history.set_mail_state(bot, key, "failed", now=now)
            log.info("message %s for %s stays in %s: its run did not succeed", uid, bot, mail.folder)
            return None
        if claim.state == "failed":
            finished = claim.finished_at or claim.claimed_at
            if (now - finished).total_seconds() < mail.retry_after:
                return None
            if not self.history.retake_mail(bot, key, validity, uid, now=now):
                return None
            return self._start(bot, mail, key, uid, validity, self._fetch(client, uid), attempt=claim.attempts + 1)
        if claim.state == "done":  # a copy of a message already handled (same Message-ID): file it too
            self._file(client, mail, uid)
        return None

    def _retry_coming(self, bot: str, run: Run, now: dt.datetime) -> bool:
        """Whether the runner will retry this transient failure (its backoff, plus a minute, has not passed)."""
        settings = self.settings.bots[bot]
        if not run.transient or run.attempt > settings.retries or run.finished_at is None:
            return False
        due = run.finished_at + dt.timedelta(seconds=settings.retry_backoff * 2 ** (run.attempt - 1) + 60)
        return now < due

    def _fetch(self, client: Any, uid: int) -> EmailMessage:
        data = client.fetch([uid], ["BODY.PEEK[]"])[uid]
        raw = data.get(b"BODY[]") or b""
        return BytesParser(policy=policy.default).parsebytes(raw)  # type: ignore[return-value]

    def _start(
        self, bot: str, mail: MailSettings, key: str, uid: int, validity: int, message: EmailMessage, attempt: int
    ) -> Run | None:
        paths = self._save(bot, validity, uid, attempt, attachments_of(message, mail))
        label = f"mail:{uid}"
        run = self.submit(bot, {mail.param: [str(p) for p in paths]}, label)
        if run is None:
            self.history.set_mail_state(bot, key, "failed", now=self.clock())
            return None
        self.history.set_mail_state(bot, key, "running", run_id=run.id)
        return run

    def _save(self, bot: str, validity: int, uid: int, attempt: int, attachments: list[Attachment]) -> list[Path]:
        """Write the attachments under ``<inbox root>/mail/<uidvalidity>-<uid>-<attempt>/`` (never over a file)."""
        folder = self.settings.roots_for(bot).root("inbox") / "mail" / f"{validity}-{uid}-{attempt}"
        folder.mkdir(parents=True, exist_ok=True)
        taken = {p.name.lower() for p in folder.iterdir()}
        paths = []
        for attachment in attachments:
            path = folder / _safe_name(attachment.name, taken)
            with path.open("xb") as out:
                out.write(attachment.data)
            paths.append(path)
        return paths

    def _file(self, client: Any, mail: MailSettings, uid: int) -> bool:
        """Move (or flag) a handled message; True once reading the folder back shows it done."""
        if mail.move_to:
            if not client.folder_exists(mail.move_to):
                client.create_folder(mail.move_to)
            if client.has_capability("MOVE"):
                client.move([uid], mail.move_to)
                client.select_folder(mail.folder)
                return uid not in client.search(["UID", str(uid)])
            client.copy([uid], mail.move_to)  # no MOVE: the original stays, flagged, never deleted
        client.add_flags([uid], [mail.flag.encode()])
        return mail.flag.encode() in client.get_flags([uid]).get(uid, ())
