"""Fetch the front-end libraries named in agent_ui/static/vendor/VENDOR.json from the npm
registry, check the tarball's integrity (npm's sha512) and each file's sha256, and copy
them in place. `make vendor` runs it; the files are committed, so the hub never needs a
registry (or a CDN) at run time. `--check` verifies the committed files only."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import sys
import tarfile
import urllib.request
from pathlib import Path

VENDOR = Path(__file__).resolve().parent.parent / "agent_ui" / "static" / "vendor"


def main(check_only: bool) -> int:
    spec = json.loads((VENDOR / "VENDOR.json").read_text())
    for name, lib in spec.items():
        if not check_only:
            data = urllib.request.urlopen(lib["tarball"], timeout=60).read()
            algo, _, want = lib["integrity"].partition("-")
            got = base64.b64encode(hashlib.new(algo, data).digest()).decode()
            if got != want:
                print(f"{name}: tarball integrity mismatch", file=sys.stderr)
                return 1
            with tarfile.open(fileobj=io.BytesIO(data)) as tar:
                for member, meta in lib["files"].items():
                    f = tar.extractfile(member)
                    assert f is not None
                    (VENDOR / meta["to"]).parent.mkdir(parents=True, exist_ok=True)
                    (VENDOR / meta["to"]).write_bytes(f.read())
        for meta in lib["files"].values():
            if "sha256" in meta:
                digest = hashlib.sha256((VENDOR / meta["to"]).read_bytes()).hexdigest()
                if digest != meta["sha256"]:
                    print(f"{name}: {meta['to']} sha256 mismatch", file=sys.stderr)
                    return 1
        print(f"{name} {lib['version']}: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main("--check" in sys.argv))
