"""Processes: the web server, the worker, and `engage run`, which starts everything for a laptop."""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from engage.settings import ConfigError, Settings

if TYPE_CHECKING:
    from litestar import Litestar

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"  # read by prometheus-client when it is imported


def redis_url_for(settings: Settings) -> str:
    if settings.redis_url:
        return settings.redis_url
    from engage.redis_embedded import running_url

    url = running_url(settings.var_dir) if settings.is_dev else None
    if url is None:
        raise ConfigError("REDIS_URL", "unset and no embedded Redis is running (use `make run`, or set it)")
    return url


def serve(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    """Serve on host:port with `workers` processes (uvicorn's supervisor restarts any that dies). Each
    process keeps its own pools; nothing is shared between them but PostgreSQL and Redis."""
    import uvicorn

    from engage import logs

    options: dict[str, Any] = {
        "host": host,
        "port": port,
        # X-Forwarded-For and -Proto count only from TRUSTED_PROXIES; with none, uvicorn's own default
        # (trust 127.0.0.1, or FORWARDED_ALLOW_IPS) is switched off too, so a client cannot pick its
        # address for the per-address limits (S5).
        "proxy_headers": bool(settings.trusted_proxies),
        "forwarded_allow_ips": settings.trusted_proxies or None,
        "timeout_keep_alive": settings.http_keep_alive_timeout,
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
        "log_level": "info",
        # Access lines for every request cost more than a health check itself; production proxies log them.
        "access_log": settings.is_dev,
        "log_config": None,  # keep the handlers and filters of engage.logs
    }
    logs.configure()
    if workers > 1 or os.environ.get(MULTIPROC_DIR):
        # The processes sum their request metrics through files in one directory (prometheus-client's
        # multiprocess mode), which must be set before they start and hold nothing from an earlier run.
        os.environ[MULTIPROC_DIR] = str(_metrics_directory())
    if workers == 1:
        from engage.app import create_app

        options["http"] = slow_client_protocol(settings.http_request_timeout)
        uvicorn.run(create_app(settings, redis_url=redis_url_for(settings)), **options)
        return
    os.environ["REDIS_URL"] = redis_url_for(settings)
    # The processes are spawned: they import the protocol by name and read its deadline from here.
    os.environ["HTTP_REQUEST_TIMEOUT"] = str(settings.http_request_timeout)
    options["http"] = "engage.runner:DeadlineProtocol"
    # A process starting on a busy machine can take more than uvicorn's 5 s to answer its supervisor's
    # first ping, and would be killed and started again in a loop.
    uvicorn.run(
        "engage.runner:app_from_environment",
        factory=True,
        workers=workers,
        timeout_worker_healthcheck=30,
        **options,
    )


def _metrics_directory() -> Path:
    chosen = os.environ.get(MULTIPROC_DIR)
    if not chosen:
        made = tempfile.mkdtemp(prefix="engage-metrics-")
        atexit.register(shutil.rmtree, made, ignore_errors=True)
        return Path(made)
    directory = Path(chosen)
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    return directory


def app_from_environment() -> Litestar:
    """The app of one of `engage serve --workers N`'s processes: the settings come from the environment,
    which the parent checked before starting them."""
    from engage import logs
    from engage.app import create_app
    from engage.settings import load_settings

    logs.configure()
    settings = load_settings()
    return create_app(settings, redis_url=redis_url_for(settings))


MAX_HEADER_BYTES = 16 * 1024  # a request line and headers larger than this are refused (h11's limit)


def slow_client_protocol(request_timeout: float) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol (httptools when installed, as uvicorn's "auto" picks, else h11) with a
    deadline for each request: from the connection, or the end of the previous response, the request's
    headers and body must have arrived within `request_timeout` seconds, or the connection is closed.

    uvicorn has no header or body timeout of its own (its keep-alive timeout starts only after a first
    response), so a client sending a byte now and then held a connection open for ever (S13). The TLS
    proxy in front is still the first line (docs/operations.md); this bounds what reaches us anyway."""
    base: type[Any]
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as base
    except ImportError:  # pragma: no cover - httptools is a dependency; h11 is uvicorn's fallback
        from uvicorn.protocols.http.h11_impl import H11Protocol as base

    class DeadlineProtocol(base):  # type: ignore[misc]
        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:
            super().connection_made(transport)
            self._arm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
            super().connection_lost(exc)

        def _arm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
            self._deadline = self.loop.call_later(request_timeout, self._expire)

        def _expire(self) -> None:
            cycle = self.cycle
            # Still waiting for a request, or for the rest of its body. A request received whole and
            # being answered is left alone, however long the answer takes.
            waiting = cycle is None or cycle.response_complete or cycle.more_body
            if waiting and not self.transport.is_closing():
                self.transport.close()

    return DeadlineProtocol


def __getattr__(name: str) -> Any:
    # `engage serve --workers N` names the protocol for its spawned processes (a class made inside a
    # function cannot be pickled): built on first use, with the deadline the parent put in the environment.
    if name == "DeadlineProtocol":
        return slow_client_protocol(float(os.environ.get("HTTP_REQUEST_TIMEOUT", "20")))
    raise AttributeError(name)


def worker(settings: Settings, burst: bool = False) -> None:
    from workers import context
    from workers.main import run

    context.use(settings)
    run(redis_url_for(settings), burst=burst)


def _prepare(settings: Settings) -> None:
    from engage.db import make_sync_engine, sync_session
    from engage.migrate import upgrade
    from engage.seed import seed_demo

    upgrade(settings.database_url)
    engine = make_sync_engine(settings.database_url)
    with sync_session(engine) as session:
        result = seed_demo(session)
    engine.dispose()
    if result.created:
        print(f"Seeded a demo district: {result.communities} communities, {result.residents} residents.")
        from engage.selections.demo import seed_selections

        demo = seed_selections(settings)
        if demo is not None:
            print(
                f"Demo selections: /selections/{demo.finished_id} (finished), /selections/{demo.in_progress_id}"
            )
    if result.admin_password:
        print(f"Admin sign-in: {result.admin_email} / {result.admin_password}")
    else:
        print(
            f"Admin sign-in: {result.admin_email} (password shown at first start; "
            f"`engage organizer password {result.admin_email}` sets a new one)"
        )


def run_dev(settings: Settings, host: str, port: int) -> None:
    """Migrate, seed, then run Redis (embedded unless REDIS_URL is set), one worker and the web server
    as children, restarting any child that exits. Ctrl-C (or SIGTERM) stops every child."""
    _prepare(settings)
    env = dict(os.environ)
    children: list[Child] = []
    if settings.redis_url:
        redis_url = settings.redis_url
    else:
        from engage.redis_embedded import start

        redis_url, redis_process = start(settings.var_dir)
        # An embedded Redis that dies comes back empty; the sweeper re-enqueues what it held.
        redis_port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
        children.append(Child("redis", lambda: start(settings.var_dir, port=redis_port)[1], redis_process))
        print(f"Embedded Redis at {redis_url}")
    env["REDIS_URL"] = redis_url
    env["PORT"] = str(port)  # the worker writes the links: they must name the port served
    python = sys.executable
    web = [python, "-m", "engage", "serve", "--host", host, "--port", str(port)]
    children.append(Child("worker", lambda: subprocess.Popen([python, "-m", "engage", "worker"], env=env)))  # noqa: S603
    children.append(Child("web", lambda: subprocess.Popen(web, env=env)))  # noqa: S603
    print(f"Engage is starting on http://{host}:{port} (Ctrl-C stops it)")
    print(f"Console SMS outbox: {settings.outbox_path} and http://{host}:{port}/dev/outbox")

    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping:
            for child in children:
                child.restart_if_exited()
            time.sleep(0.2)
    finally:
        _stop_all([child.process for child in children])


class Child:
    """A child process kept running: one that exits is started again, after a pause that grows while it
    keeps exiting (a crash loop must not spin)."""

    def __init__(
        self,
        name: str,
        start: Callable[[], subprocess.Popen[bytes]],
        process: subprocess.Popen[bytes] | None = None,
    ) -> None:
        self.name = name
        self.start = start
        self.process = process or start()
        self.restarts = 0
        self.not_before = 0.0

    def restart_if_exited(self) -> None:
        code = self.process.poll()
        if code is None or time.monotonic() < self.not_before:
            return
        self.restarts += 1
        pause = min(30.0, 2.0 ** min(self.restarts, 5))
        print(f"{self.name} exited with status {code}; restarting (restart {self.restarts})", flush=True)
        self.process = self.start()
        self.not_before = time.monotonic() + pause


def _stop_all(children: list[subprocess.Popen[bytes]]) -> None:
    # Web and worker first, Redis (started first) last, so nothing loses its connection mid-job.
    for child in reversed(children):
        if child.poll() is None:
            child.send_signal(signal.SIGINT)
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
