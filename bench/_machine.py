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
