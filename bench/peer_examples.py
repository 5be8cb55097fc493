"""The peers' own example directories, run unchanged with `cambrian run` and the built-in operators.

    python bench/peer_examples.py --openevolve PATH/openevolve --shinka PATH/ShinkaEvolve [--budget 30]

PATH/openevolve and PATH/ShinkaEvolve are checkouts of the peers' repositories (not
shipped here). Each example directory is copied to a scratch directory (nothing is
edited) and run with `cambrian run DIR --budget N --seed 0`, with no API key in the
environment, so the search uses the built-in operators only. Prints a Markdown table
headed by the machine, the date and the load average: the convention detected, the
config report's counts, the initial and best scores, and the statuses of the candidates.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from _machine import header  # noqa: E402

# (peer, example directory, extra arguments): Python examples whose evaluator needs no LLM.
EXAMPLES = [
    ("openevolve", "examples/function_minimization", []),
    ("openevolve", "examples/circle_packing", ["--config", "config_phase_1.yaml"]),
    ("openevolve", "examples/circle_packing_with_artifacts", []),
    ("openevolve", "examples/signal_processing", []),
    ("openevolve", "examples/alphaevolve_math_problems/heilbronn_triangle", []),
    ("openevolve", "examples/k_module_problem", []),
    ("shinka", "examples/circle_packing", []),
    ("shinka", "examples/game_2048", []),
    ("shinka", "examples/sine_approx_headless", []),
]


def run_one(source: Path, extra: list[str], budget: int, scratch: Path) -> dict:
    copy = scratch / source.name
    shutil.copytree(source, copy)
    extra = [str(copy / a) if a.endswith(".yaml") else a for a in extra]
    run_dir = scratch / "run"
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    proc = subprocess.run(["nice", "-n", "10", sys.executable, "-m", "cambrian.cli", "run", str(copy), *extra,
                           "--budget", str(budget), "--seed", "0", "--run-dir", str(run_dir), "--quiet"],
                          capture_output=True, text=True, env=env, timeout=3600)
    row = {"exit": proc.returncode, "error": proc.stderr.strip().splitlines()[-1][:120] if proc.returncode else ""}
    translation = run_dir / "config.translation.txt"
    if translation.is_file():
        m = re.search(r"(\d+) setting\(s\) mapped, (\d+) ignored", translation.read_text())
        row["config"] = f"{m.group(1)} mapped, {m.group(2)} ignored" if m else "?"
    db = run_dir / "cambrian.db"
    if db.is_file():
        conn = sqlite3.connect(db)
        row["initial"] = conn.execute("SELECT score FROM programs WHERE generation = 0").fetchone()
        row["best"] = conn.execute("SELECT MAX(score) FROM programs WHERE status = 'ok'").fetchone()
        row["statuses"] = ", ".join(f"{s} {n}" for s, n in conn.execute(
            "SELECT status, COUNT(*) FROM programs GROUP BY status ORDER BY status"))
        conn.close()
    return row


def fmt(value) -> str:
    value = value[0] if isinstance(value, tuple) else value
    return "-" if value is None else f"{value:.6g}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--openevolve", type=Path, required=True, help="a checkout of OpenEvolve's repository")
    parser.add_argument("--shinka", type=Path, required=True, help="a checkout of ShinkaEvolve's repository")
    parser.add_argument("--budget", type=int, default=30)
    args = parser.parse_args()
    print(header("The peers' own example directories under `cambrian run`, unchanged"))
    print(f"load average {os.getloadavg()[0]:.1f} · budget {args.budget} · seed 0 · built-in operators only\n")
    print("| peer | example | exit | config report | initial | best | improved | statuses |")
    print("|---|---|---|---|---|---|---|---|")
    for peer, example, extra in EXAMPLES:
        source = (args.openevolve if peer == "openevolve" else args.shinka) / example
        with tempfile.TemporaryDirectory(prefix="cambrian-peer-") as scratch:
            row = run_one(source, extra, args.budget, Path(scratch))
        initial, best = row.get("initial"), row.get("best")
        improved = "-" if not initial or not best or None in (initial[0], best[0]) else (
            "yes" if best[0] > initial[0] else "no")
        name = example.removeprefix("examples/") + (" " + " ".join(extra) if extra else "")
        print(f"| {peer} | {name} | {row['exit']}{' ' + row['error'] if row['error'] else ''} | "
              f"{row.get('config', 'no config file')} | {fmt(initial)} | {fmt(best)} | {improved} | "
              f"{row.get('statuses', '')} |", flush=True)


if __name__ == "__main__":
    main()
