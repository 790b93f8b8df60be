"""`switchboard serve` as `make run` starts it: a real process on a real port."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from tests.ports import unused_port

ROOT = Path(__file__).resolve().parents[2]


def test_serve_bootstraps_an_admin_and_serves_health_and_sign_in(tmp_path: Path) -> None:
    port = unused_port()  # the child binds it: one no other xdist worker picks
    env = {
        **os.environ,
        "SWITCHBOARD_DATABASE_URL": f"sqlite:///{tmp_path}/var/hub.db",
        "SWITCHBOARD_PORT": str(port),
    }
    env.pop("SWITCHBOARD_CONFIG", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    ready = threading.Event()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "Application startup complete" in line:
                ready.set()
        ready.set()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        assert ready.wait(60), "server did not start"
        assert proc.poll() is None, "".join(lines)
        out = "".join(lines)
        assert "First start: created the admin account." in out
        password = next(line.split("password:")[1].strip() for line in lines if "password:" in line)
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/healthz", timeout=30).json()["status"] == "ok"
        page = httpx.get(f"{base}/login", timeout=30)
        assert page.status_code == 200 and 'id="login-form"' in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        with httpx.Client(base_url=base, timeout=30) as c:
            r = c.post("/api/v1/auth/login", json={"email": "admin@localhost", "password": password})
            assert r.status_code == 200 and r.json()["user"]["role"] == "admin"
            assert c.get("/console", follow_redirects=False).status_code == 200
        assert httpx.get(f"{base}/metrics", timeout=30).status_code == 200
    finally:
        proc.terminate()
        proc.wait(20)
        reader.join(20)
        assert proc.stdout is not None
        proc.stdout.close()
