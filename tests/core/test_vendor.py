"""The vendored front-end libraries are the registry's files, unchanged."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_vendored_files_match_their_recorded_digests() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / ".ci" / "vendor.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert "chartjs 4.6.1: ok" in out.stdout
