"""Start-up: the package's import time, and the time from `cambrian run` to the first
evaluation stored, on each shipped example.

* import: a fresh interpreter importing ``cambrian`` alone, the CLI, and the CLI plus
  the OpenAI-compatible client a configured model uses (median of --repeats).
* first evaluation: ``cambrian run EXAMPLE --budget 1`` with a model configured (a
  closed port on 127.0.0.1: no request is needed before the first evaluation, the
  initial program's); the time until the store holds its first evaluated program
  (polled every 5 ms), then the run is ended by its PID.

    python bench/startup.py [--repeats 5] [--examples toy tsp ...]
"""

from __future__ import annotations

import argparse
import resource
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from _machine import commit, header, load  # noqa: E402

CLI = str(Path(sys.executable).parent / "cambrian")
IMPORTS = {"import cambrian": "import cambrian",
           "import cambrian.cli": "import cambrian.cli",
           "cambrian.cli + the OpenAI-compatible client": "import cambrian.cli, cambrian.llm.providers, openai"}


def import_time(statement: str, repeats: int) -> tuple[float, float]:
    """(wall, CPU) seconds of a fresh interpreter running ``statement``, medians."""
    walls, cpus = [], []
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", statement], check=True, timeout=300)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def first_evaluation(example: Path, timeout: float = 300.0) -> float | None:
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        start = time.perf_counter()
        proc = subprocess.Popen([CLI, "run", str(example), "--budget", "1", "--run-dir", str(run), "--quiet",
                                 "--model", "openai:none@http://127.0.0.1:9/v1"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        found = None
        try:
            while time.perf_counter() - start < timeout:
                db = run / "cambrian.db"
                if db.exists():
                    try:
                        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.1)
                        n = conn.execute("SELECT COUNT(*) FROM programs").fetchone()[0]
                        conn.close()
                    except sqlite3.Error:
                        n = 0
                    if n:
                        found = time.perf_counter() - start
                        break
                if proc.poll() is not None:
                    break
                time.sleep(0.005)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5, help="interpreter starts per import figure (median)")
    parser.add_argument("--examples", nargs="*", default=None, help="example names (default: all shipped)")
    args = parser.parse_args()
    print(header("Start-up: import time and time to the first evaluation"))
    print(f"{commit()} · {load()} at the start\n")
    print(f"| fresh interpreter running | wall s | CPU s | CPU s beyond `pass` |")
    print("|---|---:|---:|---:|")
    _, base = import_time("pass", args.repeats)
    for label, statement in {"pass": "pass", **IMPORTS}.items():
        wall, cpu = import_time(statement, args.repeats)
        print(f"| {label} | {wall:.2f} | {cpu:.2f} | {cpu - base:.2f} |", flush=True)
    print(f"\n(medians of {args.repeats})")
    examples = sorted(p for p in (ROOT / "examples").iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
    if args.examples:
        examples = [p for p in examples if p.name in args.examples]
    print("\n| example | `cambrian run` to the first evaluation stored (s) |")
    print("|---|---:|")
    for example in examples:
        t = first_evaluation(example)
        print(f"| {example.name} | {'did not evaluate' if t is None else f'{t:.2f}'} |", flush=True)
    print(f"\n{load()} at the end")


if __name__ == "__main__":
    main()
