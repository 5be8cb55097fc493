"""``cambrian doctor``: what this machine gives Cambrian, and which protections are in force."""

from __future__ import annotations

import asyncio
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .config import Config
from .evaluation import PoolEvaluator, Spec

PROBE_EVALUATOR = "def evaluate(path):\n    return {'combined_score': 1.0}\n"
PROBE_PROGRAM = "# EVOLVE-BLOCK-START\nx = 1\n# EVOLVE-BLOCK-END\n"
WHAT = {
    "pid_namespace": "own PID namespace per evaluation (signals reach only its own processes; "
                     "nothing it starts outlives it, setsid or not)",
    "private_filesystem": "own /tmp, /var/tmp, /dev/shm and work directory; everything else read-only; "
                          "/proc shows only its own processes",
    "own_uid": "own unprivileged uid per evaluation in flight (evaluation.sandbox_uids)",
    "no_capabilities": "no capabilities (user namespace, without root)",
    "process_limit": "process limit per evaluation (RLIMIT_NPROC on its own uid)",
    "cgroup_limits": "cgroup v2 memory / pids / CPU limits per evaluation",
    "no_network": "no network (network namespace)",
    "cpu_limit": "CPU-time limit (RLIMIT_CPU)",
    "memory_limit": "address-space limit (RLIMIT_AS)",
    "open_files_limit": "open-files limit (RLIMIT_NOFILE)",
    "file_size_limit": "file-size limit (RLIMIT_FSIZE)",
    "no_core_dumps": "no core dumps",
    "no_new_privileges": "no setuid escalation (PR_SET_NO_NEW_PRIVS)",
}
ROOT_ONLY = ("own_uid",)
UNPRIVILEGED_ONLY = ("no_capabilities",)


@dataclass
class Probe:
    active: tuple[str, ...]
    missing: dict[str, str]            # protection -> why not
    median_ms: float
    notes: list[str] = field(default_factory=list)

    def rows(self) -> list[tuple[str, bool, str]]:
        """(protection, in force, why not) for every protection that applies to this user."""
        root = os.geteuid() == 0
        names = [n for n in WHAT if not (root and n in UNPRIVILEGED_ONLY) and not (not root and n in ROOT_ONLY)]
        return [(n, n in self.active, "" if n in self.active else self.missing.get(n, "not requested"))
                for n in names]


def probe(config: Config | None = None, samples: int = 50) -> Probe:
    """Protections in force for a trivial candidate, why the others are not, and the
    median evaluation time in ms."""
    from .session import limits_for

    config = config or Config()
    limits = limits_for(config.evaluation)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "evaluate.py"
        path.write_text(PROBE_EVALUATOR)
        os.chmod(tmp, 0o755)

        async def go() -> Probe:
            ev = PoolEvaluator(Spec(path, timeout=10, limits=limits))
            try:
                first = await ev.evaluate(PROBE_PROGRAM)
                times = []
                for _ in range(samples):
                    start = time.perf_counter()
                    await ev.evaluate(PROBE_PROGRAM)
                    times.append(time.perf_counter() - start)
                times.sort()
                missing = dict(ev.last_missing)
                notes = [] if first.ok else [f"the probe candidate failed: {first.reason}"]
                if ev.cgroup_missing:
                    missing.setdefault("cgroup_limits", ev.cgroup_missing)
                if ev.userns_error:
                    for name in ("pid_namespace", "private_filesystem", "no_capabilities"):
                        missing.setdefault(name, ev.userns_error)
                return Probe(first.protections, missing, times[len(times) // 2] * 1e3, notes)
            finally:
                await ev.close()

        result = asyncio.run(go())
    ev_cfg = config.evaluation
    if ev_cfg.network:
        result.missing.setdefault("no_network", "evaluation.network is true")
    if os.geteuid() == 0 and ev_cfg.sandbox_uids is None:
        result.missing.setdefault("own_uid", "evaluation.sandbox_uids is null: candidates stay root")
    if os.geteuid() != 0:
        result.missing.setdefault("process_limit", "binds the invoking user's uid, not one per evaluation")
    return result


def report() -> int:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"Python {platform.python_version()} at {sys.executable}")
    console.print(f"{platform.system()} {platform.release()} {platform.machine()}, {os.cpu_count()} cores, "
                  f"running as uid {os.geteuid()}")
    result = probe()
    table = Table("protection", "in force", "why not", title="candidate isolation (default config)")
    for name, active, why in result.rows():
        table.add_row(WHAT[name], "yes" if active else "[red]no[/red]", why)
    console.print(table)
    for note in result.notes:
        console.print(f"[red]{note}[/red]")
    console.print(f"trivial candidate through the warm pool: {result.median_ms:.1f} ms median")
    missing = [n for n, active, _ in result.rows() if not active]
    if missing:
        console.print("[yellow]not in force:[/yellow] " + ", ".join(missing))
    return 0
