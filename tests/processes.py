"""Real processes for the integration tests: a Celery worker, a private Redis server, a
moto S3 server. All on loopback, all stopped by the tests that start them."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def wait_until(predicate, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


class Process:
    started: list[Process] = []

    @classmethod
    def kill_all(cls) -> None:
        """For fixtures: whatever a failing test left running dies with it."""
        while cls.started:
            cls.started.pop().kill()

    def __init__(self, argv: list[str], env: dict | None = None, log: Path | None = None):
        self.argv, self.env, self.log = argv, env, log
        self.proc: subprocess.Popen | None = None

    def start(self):
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        Process.started.append(self)
        return self

    def kill(self) -> None:
        """SIGKILL: no clean-up, no acknowledgement — what a crash or the OOM killer does."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


class RedisServer(Process):
    def __init__(self, port: int, workdir: Path):
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        super().__init__([binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                          "--appendonly", "no", "--dir", str(workdir)], log=workdir / "redis.log")
        self.port = port

    def start(self):
        super().start()
        wait_for_port(self.port)
        return self


class MotoServer(Process):
    def __init__(self, port: int, log: Path):
        super().__init__([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], log=log)
        self.port = port

    def start(self):
        super().start()
        wait_for_port(self.port)
        return self


def celery_worker(env: dict, log: Path) -> Process:
    return Process(
        [str(BIN / "celery"), "-A", "mint", "worker", "--pool=solo", "--loglevel=INFO",
         "-Q", "extraction,categories,budgets,notifications", "--without-mingle", "--without-gossip",
         "--without-heartbeat", "--hostname", f"test-{os.getpid()}-{time.time_ns()}@%h"],
        env=env, log=log,
    )
