"""The ``cambrian`` command. Imports stay inside the commands so ``--help`` is fast."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from .errors import CambrianError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cambrian", description="LLM-guided evolutionary program search.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="evolve a problem directory (or resume a run)")
    run.add_argument("problem", nargs="?", help="problem directory (initial_program.py + evaluate.py; "
                                                "OpenEvolve's and ShinkaEvolve's directories too)")
    run.add_argument("--convention", choices=["auto", "cambrian", "openevolve", "shinka"],
                     help="the problem directory's convention (default: detected from its file names)")
    run.add_argument("--budget", type=int, help="candidates to propose")
    run.add_argument("--max-time", type=float, help="wall-clock seconds for this session")
    run.add_argument("--target", type=float, help="stop when the best score reaches this")
    run.add_argument("--patience", type=int, help="stop after N candidates without improvement")
    run.add_argument("--seed", type=int)
    run.add_argument("--workers", type=int, help="candidates in flight at once")
    run.add_argument("--islands", help="island count or 'auto'")
    run.add_argument("--run-dir", help="where the run is written (default runs/<problem>-<time>)")
    run.add_argument("--config", help="config file (default: the problem's cambrian.yaml)")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="override any config key, e.g. --set selection.method=weighted (repeatable)")
    run.add_argument("--resume", metavar="RUN_DIR", help="continue a stopped run")
    run.add_argument("--from", dest="source", metavar="RUN_DIR",
                     help="start a new run seeded with RUN_DIR's best programs, re-evaluated (any setting may "
                          "change: objective, evaluator, features, ...)")
    _llm_flags(run)
    run.add_argument("--executor", choices=("local", "ray"), help="where evaluations run (default: local)")
    run.add_argument("--ray-address", metavar="HOST:PORT", help="the Ray cluster's head (implies --executor ray)")
    run.add_argument("--quiet", action="store_true", help="no progress display")

    replay = sub.add_parser("replay", help="re-run a run, answering every LLM request from its record")
    replay.add_argument("source", metavar="RUN_DIR")
    replay.add_argument("--run-dir", help="where the replay is written (default runs/<problem>-replay-<time>)")
    replay.add_argument("--until", type=int, metavar="N",
                        help="replay candidates up to N, then continue live (branch), e.g. with other --model")
    replay.add_argument("--budget", type=int, help="candidates in all (default: the source's)")
    replay.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    _llm_flags(replay)
    replay.add_argument("--quiet", action="store_true")

    status = sub.add_parser("status", help="summarize a run directory")
    status.add_argument("run_dir")

    show = sub.add_parser("show", help="one program in full: code, diff from its parent, metrics, reason, traceback")
    show.add_argument("run_dir")
    show.add_argument("program_id", help="a program id, or a unique prefix of one (see cambrian status)")

    best = sub.add_parser("best", help="print or save the best program of a run")
    best.add_argument("run_dir")
    best.add_argument("-o", "--output", help="write the program to this file (a multi-file program: this new directory)")

    init = sub.add_parser("init", help="write a problem skeleton that runs")
    init.add_argument("name")

    bench = sub.add_parser("bench", help="compare searches over problems, seeds and systems")
    bench.add_argument("problems", nargs="+", metavar="PROBLEM_DIR")
    bench.add_argument("--budget", type=int, required=True, help="candidates per run")
    bench.add_argument("--seeds", type=int, default=5, help="seeds 0..S-1 per problem and system (default 5)")
    bench.add_argument("--systems", default="cambrian,greedy,lineages,best_of_n,random_parent",
                       help="comma-separated: cambrian (the defaults), greedy, lineages, best_of_n, random_parent; "
                            "ablations of the default: no-adaptation, no-cross-inspirations, no-resets")
    bench.add_argument("--out", required=True, help="directory for runs, results.json and results.md")
    bench.add_argument("--max-calls", type=int, help="LLM calls per run, retries included (with --model)")
    bench.add_argument("--jobs", type=int, default=1, help="runs at once, each in its own process")
    bench.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="config override for every run (repeatable)")
    bench.add_argument("--model", action="append", default=[], metavar="PROVIDER:NAME[@URL]",
                       help="LLM for every run (repeatable)")
    bench.add_argument("--title", default="Search benchmark")
    bench.add_argument("--resume", action="store_true",
                       help="keep the runs OUT/runs.jsonl already holds (same settings) and run the rest")

    sub.add_parser("doctor", help="show which candidate protections this machine gives")

    ui = sub.add_parser("ui", help="serve a live, read-only web view of a run (or a directory of runs)")
    ui.add_argument("run_dir", metavar="RUN_DIR", help="a run directory, or a directory holding runs")
    ui.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    ui.add_argument("--host", default="127.0.0.1",
                    help="interface (default 127.0.0.1); any other requires the token printed at start")
    ui.add_argument("--token", help="the token to require (default: $CAMBRIAN_UI_TOKEN, else a random one when not on "
                         "loopback; the variable keeps it out of the process list)")

    rep = sub.add_parser("report", help="write a self-contained HTML report of a run (plots inline, opens offline)")
    rep.add_argument("run_dir", metavar="RUN_DIR")
    rep.add_argument("-o", "--output", metavar="FILE", help="where to write it (default RUN_DIR/report.html)")

    exp = sub.add_parser("export-git", help="write the run's lineage as a git repository (a commit per program)")
    exp.add_argument("run_dir", metavar="RUN_DIR")
    exp.add_argument("dest", metavar="DEST", help="a new or empty directory")
    return parser


def _llm_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", action="append", default=[], metavar="PROVIDER:NAME[@URL]",
                        help="an LLM to use, e.g. openai:gpt-5-mini, anthropic:claude-sonnet-4-5, "
                             "openai:qwen2.5-coder@http://127.0.0.1:8000/v1 (repeatable: an ensemble)")
    parser.add_argument("--max-cost", type=float, metavar="USD", help="stop before spending more than this")
    parser.add_argument("--max-calls", type=int, metavar="N",
                        help="stop before sending more than N LLM requests (retries included)")


def _overrides(args: argparse.Namespace) -> dict:
    import yaml

    out = {"budget": args.budget, "max_cost": args.max_cost, "max_calls": getattr(args, "max_calls", None)}
    for name in ("max_time", "target", "patience", "seed", "workers", "convention"):
        out[name] = getattr(args, name, None)
    if args.model:
        from .llm.models import parse_model

        for text in args.model:
            parse_model(text)  # a one-line error for a malformed flag
        out["llm.models"] = [{"model": text} for text in args.model]
    if getattr(args, "ray_address", None):
        out["executor.address"] = args.ray_address
        out["executor.kind"] = "ray"
    if getattr(args, "executor", None):
        out["executor.kind"] = args.executor
    if getattr(args, "islands", None) is not None:
        out["islands.count"] = args.islands if args.islands == "auto" else _int(args.islands, "--islands")
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CambrianError(f"--set expects KEY=VALUE, got {item!r}")
        out[key.strip()] = yaml.safe_load(value)
    return out


def _int(text: str, flag: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise CambrianError(f"{flag} expects an integer or 'auto', got {text!r}") from None


def cmd_run(args: argparse.Namespace) -> int:
    import asyncio

    from .progress import Progress
    from .report import status, usage_line
    from .session import execute, prepare, seed_from

    if args.problem is None and args.resume is None and args.source is None:
        raise CambrianError("give a problem directory, or --resume RUN_DIR, or --from RUN_DIR")
    if args.resume is not None and args.source is not None:
        raise CambrianError("--resume continues a run and --from starts a new one: give one of them")
    if args.resume is not None and args.config is not None:
        raise CambrianError("--config is for a new run: a resume keeps the run's saved config; change a setting "
                            "with --set KEY=VALUE, or start a new run with --from RUN_DIR --config FILE")
    note = _note(args.quiet)
    source = problem_dir = base_config = None
    problem_dir = args.problem
    if args.source is not None:
        from .store import Store

        if args.run_dir is not None and Path(args.run_dir).resolve() == Path(args.source).resolve():
            raise CambrianError(f"--run-dir {args.run_dir} is the run --from reads: give the new run another directory")

        source = Store.open(Path(args.source))
        problem_dir = problem_dir or source.meta("problem")
        base_config = None if args.config else source.meta("config")
    problem, config, store, run_path = prepare(
        problem_dir, overrides=_overrides(args), config_file=args.config,
        run_dir=args.run_dir, resume=args.resume, base_config=base_config, on_note=note,
    )
    announce = None
    if source is not None:
        n = seed_from(store, source, problem, config)
        announce = f"new run in {run_path}, seeded with {n} programs of {args.source} (each re-evaluated here)"
    elif args.resume is None:
        announce = f"new run in {run_path}"
    progress = None if args.quiet else Progress(title=f"{problem.name} -> {run_path}", config=config)
    try:
        result = asyncio.run(execute(problem, config, store, run_path, on_progress=progress,
                                     handle_signals=True, on_note=note, announce=announce))
    except BaseException:
        if progress is not None:
            progress.close()
        raise
    if progress is not None:
        progress.close(result.stats)
    st = result.stats
    print(f"stopped: {st.stop_reason}")
    print(f"best score: {result.score:.10g} (initial {st.initial_score:.10g}) after {st.candidates} candidates")
    print(f"this session: {st.session_candidates} candidates in {st.elapsed:.1f} s ({st.rate:.1f}/s)")
    print(usage_line(st.calls, config.max_calls, st.candidates, st.builtin_candidates))
    from .tree import program_name

    print(f"best program: {run_path / 'best' / program_name(result.best.code)}")
    for line in status(store).warnings:
        print(f"warning: {line}")
    print(f"run directory: {run_path} (inspect: cambrian status {run_path})")
    return interrupted_exit_code(st.stop_reason)


def interrupted_exit_code(stop_reason: str) -> int:
    """0, or 128 + the signal's number after a graceful stop by SIGINT or SIGTERM (130, 143):
    the shell convention, so `cambrian run ... && next-step` does not go on after an interrupt."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        if stop_reason.startswith(f"interrupted ({sig.name})"):
            return 128 + sig.value
    return 0


def _note(quiet: bool):
    """What is being set up, on stderr, from the first second (nothing with --quiet)."""
    def note(text: str) -> None:
        if not quiet:
            print(f"cambrian: {text}", file=sys.stderr, flush=True)
    return note


def cmd_replay(args: argparse.Namespace) -> int:
    import asyncio
    import time

    from .progress import Progress
    from .resume import as_saved
    from .session import execute, prepare
    from .store import Store

    source = Store.open(Path(args.source))
    problem_dir = source.meta("problem")
    config_data = as_saved(source.meta("config") or {})  # a run older than a setting replays as it ran
    run_dir = args.run_dir or Path("runs") / f"{Path(problem_dir).name}-replay-{time.strftime('%Y%m%d-%H%M%S')}"
    overrides = _overrides(args)
    last = source.scalar("SELECT COALESCE(MAX(seq), 0) FROM attempts")
    if args.until is None and args.budget is None and last > 0:
        # The source may have stopped before its budget (max calls, max cost, max time, a
        # signal). A replay sends nothing, so those limits never stop it: it stops where
        # the source stopped instead of asking for candidates that have no record.
        overrides["budget"] = last
    problem, config, store, run_path = prepare(problem_dir, overrides=overrides, run_dir=run_dir,
                                               base_config=config_data)
    if args.until is not None:
        # A branch: the recorded prefix is copied and the run resumes from it, live,
        # with whatever models and settings the flags gave.
        store.copy_prefix(source, args.until)
    progress = None if args.quiet else Progress(title=f"replay -> {run_path}", config=config)
    try:
        result = asyncio.run(execute(problem, config, store, run_path, on_progress=progress, handle_signals=True,
                                     replay=source if args.until is None else None))
    finally:
        if progress is not None:
            progress.close()
    print(f"replayed into {run_path}: best score {result.score:.10g} after {result.stats.candidates} candidates")
    if args.until is None:
        differ = first_difference(source, store)
        print("sequence identical to the source" if differ is None else
              f"sequence differs from the source at candidate {differ}")
        return 0 if differ is None else 1
    return 0


def first_difference(a, b) -> int | None:
    """The first candidate whose program or score differs between two stores, or None."""
    sql = ("SELECT a.seq, a.program_id, a.outcome, p.score FROM attempts a"
           " LEFT JOIN programs p ON p.id = a.program_id ORDER BY a.seq")
    left, right = a.rows(sql), b.rows(sql)
    for x, y in zip(left, right):
        if x != y:
            return x[0]
    return None if len(left) == len(right) else min(len(left), len(right))


def cmd_status(args: argparse.Namespace) -> int:
    from .report import render, status
    from .store import Store

    render(status(Store.open(Path(args.run_dir))))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from .show import describe, find
    from .store import Store

    store = Store.open(Path(args.run_dir))
    sys.stdout.write(describe(store, find(store, args.program_id)))
    return 0


def cmd_best(args: argparse.Namespace) -> int:
    from .report import status
    from .store import Store

    st = status(Store.open(Path(args.run_dir)))
    if st.best is None:
        raise CambrianError(f"{args.run_dir}: no valid program yet")
    if args.output:
        from .tree import is_bundle, write

        output = Path(args.output)
        if is_bundle(st.best.code) and output.exists():
            raise CambrianError(f"{output} exists: give a new path for the program's file or tree")
        write(st.best.code, output) if is_bundle(st.best.code) else output.write_text(st.best.code)
        print(f"wrote {args.output} (score {st.best.score:.10g})", file=sys.stderr)
    else:
        sys.stdout.write(st.best.code)
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    from .scaffold import init

    path = init(args.name)
    print(f"wrote {path}/ : try `cambrian run {path}`")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from . import benchmark

    if args.budget < 1 or args.seeds < 1 or args.jobs < 1:
        raise CambrianError("--budget, --seeds and --jobs must be >= 1")
    overrides = _overrides(argparse.Namespace(budget=None, max_cost=None, max_calls=args.max_calls,
                                              model=args.model, set=args.set))
    overrides = {k: v for k, v in overrides.items() if v is not None}
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    out = Path(args.out)
    jobs = benchmark.plan(args.problems, systems=systems, seeds=range(args.seeds), budget=args.budget,
                          out=out, overrides=overrides)

    def show(r: "benchmark.RunResult") -> None:
        print(f"{r.problem} {r.system} seed {r.seed}: best {r.best if r.best is None else f'{r.best:.6g}'}"
              f" ({r.candidates} candidates, {r.calls} LLM calls, {r.seconds:.1f} s)", flush=True)

    results = benchmark.run(jobs, parallel=args.jobs, on_result=show, log=out / "runs.jsonl", resume=args.resume)
    header = _machine_header(args.title)
    js, md = benchmark.write(results, out, title=args.title, header=header,
                             meta={"budget": args.budget, "seeds": args.seeds, "systems": systems,
                                   "models": args.model, "set": args.set})
    print(md.read_text())
    print(f"wrote {md} and {js}")
    return 0


def _machine_header(title: str) -> str:
    import os
    import platform
    import time

    cpu = "unknown cpu"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    return (f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} · {platform.system()} {platform.machine()} · "
            f"{os.cpu_count()} cores · {cpu} · Python {platform.python_version()}")


def cmd_doctor(args: argparse.Namespace) -> int:
    from .doctor import report

    return report()


def cmd_ui(args: argparse.Namespace) -> int:
    from .ui.serve import serve

    serve(Path(args.run_dir), host=args.host, port=args.port, token=args.token)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .html_report import write

    out = write(Path(args.run_dir), Path(args.output) if args.output else None)
    print(f"wrote {out}")
    return 0


def cmd_export_git(args: argparse.Namespace) -> int:
    from .export_git import export

    done = export(Path(args.run_dir), Path(args.dest))
    print(f"wrote {done['dest']}: {done['commits']} commits ({done['merges']} crossover merges); "
          + (f"main = best program {done['best']}." if done["best"] else
             f"the run has no valid program: main = the initial program {done['main']}, which failed.")
          + f" Try: git -C {done['dest']} log --graph --oneline main")
    return 0


COMMANDS = {"run": cmd_run, "replay": cmd_replay, "status": cmd_status, "show": cmd_show, "best": cmd_best,
            "init": cmd_init,
            "doctor": cmd_doctor, "bench": cmd_bench, "ui": cmd_ui, "report": cmd_report,
            "export-git": cmd_export_git}


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.version:
        from . import __version__

        print(__version__)
        return 0
    if args.command is None:
        parser.print_help()
        return 2
    import asyncio  # standard library, cheap; needed only to name the errors below
    import errno
    import sqlite3

    from .errors import InitialProgramError, NothingToDo

    try:
        return COMMANDS[args.command](args)
    except NothingToDo as exc:
        print(f"cambrian: {exc}", file=sys.stderr)
        return 0
    except InitialProgramError as exc:
        if exc.detail:
            print(exc.detail.rstrip(), file=sys.stderr)
        print(f"cambrian: error: {exc}", file=sys.stderr)
        return 2
    except CambrianError as exc:
        print(f"cambrian: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (`cambrian status RUN | head -1`): not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # a path that cannot be created, read or written
        where = f": {exc.filename}" if exc.filename else ""
        then = ("; the store is consistent: free space, then resume with cambrian run --resume RUN_DIR"
                if exc.errno == errno.ENOSPC else "")
        print(f"cambrian: error: {exc.strerror or exc}{where}{then}", file=sys.stderr)
        return 2
    except sqlite3.Error as exc:  # a store damaged in a way the checks at open did not see
        then = ("; free space, then resume with cambrian run --resume RUN_DIR" if "full" in str(exc) else "")
        print(f"cambrian: error: the run's store cannot be read or written: {exc}{then}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cambrian: interrupted", file=sys.stderr)
        return 130
    except asyncio.CancelledError:
        print("cambrian: interrupted; in-flight candidates were cancelled, the store is consistent",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
