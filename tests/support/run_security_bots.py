"""Hostile bots for the run-process security tests (loaded through ``bot_modules``).

Each does what an attacker who controls a bot's code, or tricks a bot, would try: read the
environment, leave processes behind, flood the log, smuggle a secret out through the result.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict

from backroom.bots import Bot, Context, Params, Result
from backroom.schedules.undumpable import dumpable


class SecretConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    system: str | None = None
    extra_secret: str | None = None  # a keyring reference the bot resolves itself


class DumpParams(Params):
    serve_pid: int | None = None  # the process that supervises the run, whose environment to try


class EnvDump(Bot[DumpParams, SecretConfig]):
    name = "env_dump"
    summary = "Writes everything it can see of its environment into an artifact"
    Params = DumpParams
    Config = SecretConfig

    def run(self, ctx: Context[SecretConfig], params: DumpParams) -> Result:
        seen = {
            "environ": dict(os.environ),
            "proc_self_environ": _read("/proc/self/environ"),
            "parent_environ": _read(f"/proc/{os.getppid()}/environ"),
            "extra_secret": ctx.secret(ctx.config.extra_secret) if ctx.config.extra_secret else None,
            "uid": os.getuid(),
            "dumpable": dumpable(),
            "serve_environ": _read(f"/proc/{params.serve_pid}/environ") if params.serve_pid else None,
        }
        ctx.artifact("seen.json").write_text(json.dumps(seen), encoding="utf-8")
        return Result(summary="dumped")


def _read(path: str) -> str:
    try:
        return Path(path).read_bytes().decode("utf-8", "replace")
    except OSError as exc:
        return f"unreadable: {exc.strerror}"


class LeaveParams(Params):
    setsid: bool = False
    hang: bool = False


class Leaver(Bot[LeaveParams]):
    name = "leaver"
    summary = "Starts `sleep 300` in the background (optionally in a new session) and returns or hangs"
    Params = LeaveParams

    def run(self, ctx: Context, params: LeaveParams) -> Result:
        command = ["setsid", "sleep", "300"] if params.setsid else ["sleep", "300"]
        quiet = subprocess.DEVNULL
        child = subprocess.Popen(command, stdin=quiet, stdout=quiet, stderr=quiet)
        ctx.artifact("pid").write_text(str(child.pid))
        if params.hang:
            time.sleep(600)
        return Result(summary="left a sleeper behind")


class FloodParams(Params):
    lines: int = 100_000
    long_line_bytes: int = 10 * 1024 * 1024
    width: int = 0  # padding of each flood line


class Flood(Bot[FloodParams]):
    name = "flood"
    summary = "Logs a flood of lines and one huge line, and prints a huge line"
    Params = FloodParams

    def run(self, ctx: Context, params: FloodParams) -> Result:
        ctx.log.info("x" * params.long_line_bytes)
        print("y" * params.long_line_bytes, flush=True)
        pad = "." * params.width
        for i in range(params.lines):
            ctx.log.info("line %d%s", i, pad)
        return Result(summary="flooded")


class LeakConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    system: str
    fail: bool = False


#: a mainland mobile number, personal data that must be masked wherever the run writes
MOBILE = "13912345678"


class Leaky(Bot[Params, LeakConfig]):
    name = "leaky"
    summary = "Puts its secret (plain, URL-encoded, in a Basic header) and a mobile number everywhere it can"
    Config = LeakConfig

    def run(self, ctx: Context[LeakConfig], params: Params) -> Result:
        token = ctx.secret(ctx.system(ctx.config.system).token or "")
        basic = "Basic " + base64.b64encode(f"svc:{token}".encode()).decode()
        forms = [token, quote(token, safe=""), basic, MOBILE]
        text = " | ".join(forms)
        with ctx.progress(f"working with {text}", total=1) as bar:
            bar.advance()
        print(f"stdout: {text}", flush=True)
        print(f"stderr: {text}", file=sys.stderr, flush=True)
        os.write(1, f"raw fd 1: {text}\n".encode())
        subprocess.run(["echo", f"grandchild: {text}"], check=False)
        logging.getLogger("some.library").warning("library: %s", text)
        if ctx.config.fail:
            raise RuntimeError(f"failed with {text}")
        return Result(
            summary=f"summary {text}",
            counts={f"count {form}": 1 for form in forms},
            outputs={"header": basic, "nested": {f"key {token}": [quote(token, safe=""), MOBILE]}},
        )


class PipeParams(Params):
    attack: str = "pickle"  # or "huge"
    marker: str = ""  # a file the pickle would create in serve, were it unpickled there


class _RunInServe:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


class PipeAttacker(Bot[PipeParams]):
    name = "pipe_attacker"
    summary = "Writes to the supervisor's pipe itself: a pickle that runs code, or a huge message"
    Params = PipeParams

    def run(self, ctx: Context, params: PipeParams) -> Result:
        import gc
        import pickle
        from multiprocessing.connection import Connection

        conn = next(o for o in gc.get_objects() if isinstance(o, Connection) and not o.closed)
        if params.attack == "pickle":
            conn.send_bytes(pickle.dumps(_RunInServe(params.marker)))
        else:
            conn.send_bytes(b"x" * (17 * 1024 * 1024))
        time.sleep(30)
        return Result(summary="the supervisor took it")
