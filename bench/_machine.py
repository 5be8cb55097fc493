"""The machine line every benchmark table starts with."""

import os
import platform
import time


def header(title: str) -> str:
    cpu = "unknown cpu"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"## {title}\n\n{time.strftime('%Y-%m-%d')} · {platform.system()} {platform.machine()} · "
            f"{os.cpu_count()} cores · {mem:.0f} GiB · {cpu} · Python {platform.python_version()}\n")


def load() -> str:
    """The load average now: on a shared machine, what a wall-clock figure was measured under."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f} (1 / 5 / 15 min)"


def commit() -> str:
    """The checkout's commit (``-dirty`` with uncommitted changes to the package or bench/)."""
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "cambrian", "bench"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown commit"
    return f"commit {head or 'unknown'}{'-dirty' if dirty else ''}"
