"""`make bench`: run every benchmark, each printing figures and the ratio against a
baseline measured in the same run. Pass --quick for a short smoke run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = ["routing_bench.py", "storage_bench.py", "e2e_bench.py", "widget_bench.py"]


def main(argv: list[str]) -> int:
    failed = 0
    for name in BENCHES:
        path = HERE / name
        if not path.exists():
            continue
        print(f"\n=== {name} ===", flush=True)
        rc = subprocess.call([sys.executable, str(path), *argv], cwd=HERE.parent)
        failed |= rc != 0
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
