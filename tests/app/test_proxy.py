"""docs/ops/nginx-engage.conf, run for real: nginx with a self-signed certificate in front of a real
`engage serve`. TLS and the redirect to it, the client's address forwarded (and a forged one ignored),
/metrics kept off the public side, the upload limit, and a 502 when no web process answers."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from engage.testing.fake_twilio import FakeTwilio
from engage.web.headers import HSTS
from tests.support import (
    ROOT,
    SECRET,
    free_port,
    make_settings,
    process_environment,
    twilio_environment,
    wait_for,
)

pytestmark = pytest.mark.slow

SAMPLE = ROOT / "docs" / "ops" / "nginx-engage.conf"
HOST = "engage.example.gov.cn"


def this_machines_address() -> str | None:
    """An address of this machine other than loopback: requests from it reach nginx as another client
    would, so the forwarded address differs from the proxy's own."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("203.0.113.1", 9))  # a documentation address: nothing is sent
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") else address


def site_config(engage_port: int, address: str, https_port: int, http_port: int, certificates: Path) -> str:
    """The sample, moved to the test's ports and certificate; everything else as operators get it."""
    text = SAMPLE.read_text()
    replacements = {
        "server 127.0.0.1:8000": f"server 127.0.0.1:{engage_port}",
        "listen 443 ssl http2;": f"listen {address}:{https_port} ssl http2;",
        "listen 80;": f"listen {address}:{http_port};",
        "/etc/ssl/engage/": f"{certificates}/",
    }
    for old, new in replacements.items():
        assert old in text, f"the sample no longer has {old!r}"
        text = text.replace(old, new)
    return "\n".join(line for line in text.splitlines() if "[::]" not in line)  # no IPv6 here


@pytest.fixture
def nginx() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None or shutil.which("openssl") is None:
        pytest.skip("nginx and openssl are needed (apt-get install nginx-light openssl)")
    return found


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[bytes]]]:
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()


def test_the_sample_nginx_config_serves_engage_over_tls_and_forwards_the_clients_address(
    nginx: str,
    database_url: str,
    redis_url: str,
    tmp_path: Path,
    fake_twilio: FakeTwilio,
    started: list[subprocess.Popen[bytes]],
) -> None:
    address = this_machines_address()
    if address is None:
        pytest.skip("this machine has no address but loopback")
    certificates = tmp_path / "tls"
    certificates.mkdir()
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(certificates / "privkey.pem"), "-out", str(certificates / "fullchain.pem"),
            "-subj", f"/CN={HOST}", "-addext", f"subjectAltName=DNS:{HOST},IP:{address}",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip

    engage_port, https_port, http_port = free_port(), free_port(), free_port()
    settings = make_settings(
        database_url,
        redis_url,
        tmp_path / "var",
        PUBLIC_BASE_URL=f"https://{HOST}",
        **twilio_environment(fake_twilio),
    )
    environment = process_environment(
        settings, SECRET, CODE_REQUESTS_PER_IP_PER_HOUR="1", TRUSTED_PROXIES="127.0.0.1"
    )
    with (tmp_path / "engage.log").open("ab") as log:
        engage = subprocess.Popen(
            [sys.executable, "-m", "engage", "serve", "--port", str(engage_port)],
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=log,
        )
    started.append(engage)

    prefix = tmp_path / "nginx"
    prefix.mkdir()
    (prefix / "site.conf").write_text(site_config(engage_port, address, https_port, http_port, certificates))
    (prefix / "nginx.conf").write_text(
        f"""
user root;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {prefix}/site.conf;
}}
"""
    )
    command = [nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf")]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    started.append(subprocess.Popen([*command, "-g", "daemon off;"], stderr=subprocess.DEVNULL))

    public = f"https://{address}:{https_port}"
    direct = f"http://127.0.0.1:{engage_port}"
    client = httpx.Client(base_url=public, verify=str(certificates / "fullchain.pem"), timeout=30)

    def ready() -> bool:
        try:
            return client.get("/readyz").status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(ready, 90, "engage behind nginx to be ready")

    home = client.get("/", headers={"Accept-Language": "zh-CN"})
    assert home.status_code == 200 and "<html" in home.text
    assert home.headers.get_list("strict-transport-security") == [HSTS]
    assert home.headers.get_list("x-frame-options") == ["DENY"]

    plain = httpx.get(f"http://{address}:{http_port}/notices?page=2", timeout=10)
    assert plain.status_code == 301
    assert plain.headers["location"] == f"https://{address}/notices?page=2"

    # The public side never shows metrics; this machine reads them from the web process itself.
    assert client.get("/metrics").status_code == 404
    assert httpx.get(f"{direct}/metrics", timeout=10).status_code == 200

    # Rate limits count the client's address as nginx saw it, whatever the client claims.
    assert client.post("/api/v1/signup/code", json={"phone": "13800138001"}).status_code == 202
    forged = client.post(
        "/api/v1/signup/code", json={"phone": "13800138002"}, headers={"X-Forwarded-For": "10.9.8.7"}
    )
    assert forged.status_code == 429, forged.text
    # ... and a client nginx did not see (this machine, straight to the web process) has its own.
    assert (
        httpx.post(f"{direct}/api/v1/signup/code", json={"phone": "13800138003"}, timeout=10).status_code
        == 202
    )

    too_big = client.post("/api/v1/signup/code", content=b"x" * (11 * 1024 * 1024))
    assert too_big.status_code == 413

    engage.terminate()
    engage.wait(15)
    began = time.monotonic()
    assert client.get("/").status_code == 502
    assert time.monotonic() - began < 10  # refused at once, not held for the read timeout
    client.close()
