"""``cambrian doctor``: what this machine gives Cambrian, and which protections are in force."""

from __future__ import annotations

import asyncio
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from .config import Config
from .evaluation import PoolEvaluator, Spec

PROBE_EVALUATOR = "def evaluate(path):\n    return {'combined_score': 1.0}\n"
PROBE_PROGRAM = "# EVOLVE-BLOCK-START\nx = 1\n# EVOLVE-BLOCK-END\n"
EXPECTED = ("cpu_limit", "memory_limit", "open_files_limit", "file_size_limit", "no_core_dumps",
            "no_new_privileges", "no_network", "private_mounts", "unprivileged_user", "process_limit")
WHAT = {
    "cpu_limit": "CPU-time limit (RLIMIT_CPU)",
    "memory_limit": "address-space limit (RLIMIT_AS)",
    "open_files_limit": "open-files limit (RLIMIT_NOFILE)",
    "file_size_limit": "file-size limit (RLIMIT_FSIZE)",
    "no_core_dumps": "no core dumps",
    "no_new_privileges": "no setuid escalation (PR_SET_NO_NEW_PRIVS)",
    "no_network": "no network (network namespace)",
    "private_mounts": "private mount namespace; unreachable homes hidden",
    "unprivileged_user": "runs as an unprivileged user (Cambrian is root)",
    "process_limit": "process limit (RLIMIT_NPROC; binds only a non-root user)",
}


def probe(config: Config | None = None, samples: int = 50) -> tuple[tuple[str, ...], float]:
    """Protections in force for a trivial candidate, and its median evaluation time in ms."""
    from .session import limits_for

    limits = limits_for((config or Config()).evaluation)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "evaluate.py"
        path.write_text(PROBE_EVALUATOR)
        os.chmod(tmp, 0o755)

        async def go() -> tuple[tuple[str, ...], float]:
            ev = PoolEvaluator(Spec(path, timeout=10, limits=limits))
            try:
                first = await ev.evaluate(PROBE_PROGRAM)
                times = []
                for _ in range(samples):
                    start = time.perf_counter()
                    await ev.evaluate(PROBE_PROGRAM)
                    times.append(time.perf_counter() - start)
                times.sort()
                return first.protections, times[len(times) // 2] * 1e3
            finally:
                await ev.close()

        return asyncio.run(go())


def report() -> int:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"Python {platform.python_version()} at {sys.executable}")
    console.print(f"{platform.system()} {platform.release()} {platform.machine()}, {os.cpu_count()} cores, "
                  f"running as uid {os.geteuid()}")
    active, median_ms = probe()
    table = Table("protection", "in force", title="candidate isolation (default config)")
    for name in EXPECTED:
        table.add_row(WHAT[name], "yes" if name in active else "[red]no[/red]")
    console.print(table)
    console.print(f"trivial candidate through the warm pool: {median_ms:.1f} ms median")
    missing = [n for n in EXPECTED if n not in active]
    if missing:
        console.print("[yellow]not in force:[/yellow] " + ", ".join(missing) +
                      ". Run Cambrian as root (it drops candidates to 'nobody'), or in a container, "
                      "for the strongest isolation.")
    return 0
