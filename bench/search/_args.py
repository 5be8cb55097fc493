"""Argument checks shared by the search benchmark's commands: a bad argument is one line
(``parser.error``, exit 2) before any run starts, not a traceback from a worker."""

from __future__ import annotations

import argparse
from typing import Iterable


def check(parser: argparse.ArgumentParser, args: argparse.Namespace, landscapes: Iterable[str],
          systems: Iterable[str]) -> tuple[list[str], list[str]]:
    """The landscapes and systems asked for, each one known; counts at least 1."""
    for flag, value in (("--seeds", args.seeds), ("--jobs", args.jobs), ("--budget", args.budget)):
        if value < 1:
            parser.error(f"{flag} must be at least 1 (got {value})")
    if getattr(args, "first_seed", 0) < 0:
        parser.error(f"--first-seed must be at least 0 (got {args.first_seed})")
    asked = args.landscapes.split(","), [s for s in args.systems.split(",") if s]
    for kind, names, known in (("landscape", asked[0], list(landscapes)), ("system", asked[1], list(systems))):
        unknown = [n for n in names if n not in known]
        if unknown or not names:
            parser.error(f"unknown {kind} {', '.join(unknown) or '(none given)'}; choose from {', '.join(known)}")
    return asked
