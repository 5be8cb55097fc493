"""Live progress: a rich panel on a terminal, a plain line every few seconds elsewhere."""

from __future__ import annotations

import sys
import time
from typing import Any

from .config import Config
from .stats import Stats


def duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def eta(stats: Stats, config: Config) -> str:
    """Time left until the first limit (budget, max time, max cost) is met, and which one."""
    elapsed = stats.elapsed
    if elapsed <= 0 or stats.session_candidates == 0:
        return "-"
    left: list[tuple[float, str]] = [(max(0, config.budget - stats.candidates) / stats.rate, "budget")]
    if config.max_time is not None:
        left.append((max(0.0, config.max_time - elapsed), "max time"))
    if config.max_cost is not None and stats.session_spent > 0:
        left.append((max(0.0, config.max_cost - stats.spent) / (stats.session_spent / elapsed), "max cost"))
    seconds, which = min(left)
    return f"{duration(seconds)} ({which})"


def _fmt(score: float | None) -> str:
    return "-" if score is None else f"{score:.10g}"


def _failures(stats: Stats, n: int = 4) -> str:
    return ", ".join(f"{k} x{v}" for k, v in stats.failures.most_common(n)) or "none"


class Progress:
    """Callable given to the runner; ``close()`` ends the live display."""

    def __init__(self, *, title: str, config: Config, live: bool | None = None, interval: float = 5.0):
        self.title = title
        self.config = config
        self.budget = config.budget
        self.live = sys.stderr.isatty() if live is None else live
        self.interval = interval
        self._last = 0.0
        self._display: Any = None
        if self.live:
            from rich.console import Console
            from rich.live import Live

            self._display = Live(console=Console(stderr=True), refresh_per_second=4, transient=False)
            self._display.start()

    def __call__(self, stats: Stats) -> None:
        if self._display is not None:
            self._display.update(self._table(stats))
            return
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            print(self.line(stats), file=sys.stderr, flush=True)

    def line(self, stats: Stats) -> str:
        valid = 100.0 * stats.valid / stats.evaluated if stats.evaluated else 0.0
        return (f"[{self.title}] {stats.candidates}/{self.budget} candidates  best {_fmt(stats.best_score)}"
                f"  valid {valid:.0f}%  {stats.rate:.1f}/s  elapsed {duration(stats.elapsed)}"
                f"  ETA {eta(stats, self.config)}  failures: {_failures(stats)}"
                + (f"  {stats.calls} LLM calls" if stats.calls else "")
                + (f"  ${stats.spent:.4f}" if stats.spent else ""))

    def _table(self, stats: Stats) -> Any:
        from rich.table import Table

        table = Table(title=f"cambrian · {self.title}", show_header=False, min_width=60)
        valid = 100.0 * stats.valid / stats.evaluated if stats.evaluated else 0.0
        table.add_row("candidates", f"{stats.candidates} / {self.budget}")
        table.add_row("best score", f"{_fmt(stats.best_score)}  (initial {_fmt(stats.initial_score)})")
        table.add_row("valid", f"{stats.valid} of {stats.evaluated} evaluated ({valid:.0f}%)")
        table.add_row("speed", f"{stats.rate:.1f} candidates/s")
        table.add_row("time", f"elapsed {duration(stats.elapsed)}, ETA {eta(stats, self.config)}")
        table.add_row("failures", _failures(stats, 6))
        if stats.calls:
            table.add_row("LLM calls", str(stats.calls))
        if stats.spent:
            table.add_row("LLM cost", f"${stats.spent:.4f}")
        if stats.equivalent:
            table.add_row("equivalent", f"{stats.equivalent} (result reused, not evaluated)")
        return table

    def close(self, stats: Stats | None = None) -> None:
        if self._display is not None:
            if stats is not None:
                self._display.update(self._table(stats))
            self._display.stop()
        elif stats is not None:
            print(self.line(stats), file=sys.stderr, flush=True)
