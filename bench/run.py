"""`make bench`: run every benchmark, each printing figures and the ratio against a
baseline measured in the same run. Pass --quick for a short smoke run.

crm_bench.py runs at its quick scale (20,000 contacts) unless --crm-full is passed: its
full scale (1,000,000 contacts and 5,000,000 messages on SQLite and PostgreSQL) takes
the better part of an hour on a 2-core machine.

reports_bench.py runs at the issue's scale (10,000,000 messages) unless --quick: its data
sets are cached (var/bench/, a PostgreSQL database) and made again only when they change."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = ["routing_bench.py", "storage_bench.py", "e2e_bench.py", "fanout_bench.py", "widget_bench.py", "crm_bench.py",
           "reports_bench.py", "campaign_bench.py", "projection_bench.py"]  # fmt: skip


def bench_args(name: str, argv: list[str]) -> list[str]:
    args = [a for a in argv if a != "--crm-full"]
    if name == "crm_bench.py" and "--crm-full" not in argv and "--quick" not in args:
        args.append("--quick")
    return args


def main(argv: list[str]) -> int:
    failed = 0
    for name in BENCHES:
        path = HERE / name
        if not path.exists():
            continue
        print(f"\n=== {name} ===", flush=True)
        rc = subprocess.call([sys.executable, str(path), *bench_args(name, argv)], cwd=HERE.parent)
        failed |= rc != 0
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
