"""`make bench`: every benchmark in this folder with its default arguments, one after another (they print their
figures; docs/PERFORMANCE.md quotes them with the command of each). Takes a while: the county-sized ones build
their data first."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
SCRIPTS = ["field_load", "wire", "photos", "sync_throughput", "pull", "review_queue", "county", "counties"]


def main() -> int:
    failed = []
    for name in sys.argv[1:] or SCRIPTS:
        print(f"\n== bench/{name}.py", flush=True)
        started = time.monotonic()
        if subprocess.run([sys.executable, str(HERE / f"{name}.py")]).returncode:
            failed.append(name)
        print(f"== bench/{name}.py took {time.monotonic() - started:.0f} s", flush=True)
    if failed:
        print("failed:", ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
