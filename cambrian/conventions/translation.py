"""A peer's config file read as Cambrian's, with a report of what was mapped and what was ignored.

Nothing is dropped silently: every key of the peer's file appears in the report, either
mapped (``source: value -> target: value``) or ignored with the reason. The result is
plain data for ``config.build``, so Cambrian's own validation still applies to it.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlparse

from . import CAMBRIAN, LABELS


@dataclass
class Translation:
    """A peer config as Cambrian config data, and what happened to each of its keys."""

    source: str                                  # a label for the report, e.g. "config.yaml (OpenEvolve)"
    config: dict[str, Any] = field(default_factory=dict)
    mapped: list[tuple[str, str]] = field(default_factory=list)
    ignored: list[tuple[str, str]] = field(default_factory=list)
    task: str | None = None                      # task text found in the peer's files

    def set(self, source: str, value: Any, target: str, converted: Any = None) -> None:
        """Map ``source`` (holding ``value``) to the dotted Cambrian key ``target``."""
        out = value if converted is None else converted
        node = self.config
        *parents, leaf = target.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = out
        self.mapped.append((f"{source}: {_show(value)}", f"{target}: {_show(out)}"))

    def note(self, source: str, value: Any, why: str) -> None:
        if source.rsplit(".", 1)[-1] == "api_key" and value is not None and env_reference(value) is None:
            value = "<a key, not shown>"  # a secret written into the peer's config stays out of reports
        self.ignored.append((f"{source}: {_show(value)}" if value is not None else source, why))

    def set_task(self, root: Path, source: str, text: str) -> None:
        """The task text, from the peer's files, unless the directory has a task.md."""
        if (root / "task.md").is_file():
            self.note(source, "...", "task.md is the task text")
            return
        self.task = text
        self.mapped.append((f"{source}: {' '.join(text.split())[:40]}...", "task text (as task.md would be)"))

    def lines(self) -> list[str]:
        """The report, one line each: what was mapped, then what was ignored and why."""
        out = [f"{self.source}: {len(self.mapped)} setting(s) mapped, {len(self.ignored)} ignored"]
        out += [f"  mapped   {a} -> {b}" for a, b in self.mapped]
        out += [f"  ignored  {a} ({why})" for a, why in self.ignored]
        return out


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else value
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:57] + "..."


def walk(data: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Leaf keys of nested mappings as (dotted path, value), in file order."""
    out: list[tuple[str, Any]] = []
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out += walk(value, path + ".")
        else:
            out.append((path, value))
    return out


def loopback(url: str | None) -> bool:
    host = urlparse(url or "").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def model_entry(t: Translation, source: str, name: Any, *, base: str | None, env: Mapping[str, str],
                key_env: str | None, provider: str | None = None, **extra: Any) -> dict[str, Any] | None:
    """A Cambrian ``llm.models`` entry for a peer's model name, or None (noted) when it cannot
    be used here: no API key in the environment for a remote endpoint."""
    if not isinstance(name, str) or not name:
        t.note(source, name, "not a model name")
        return None
    provider = provider or ("anthropic" if name.startswith("claude") and not base else "openai")
    variable = key_env or ("ANTHROPIC_API_KEY" if provider == "anthropic" else "OPENAI_API_KEY")
    if not loopback(base) and not env.get(variable):
        t.note(source, name, f"{variable} is not set: this run uses the built-in operators only "
                              f"(set it, or pass --model)")
        return None
    entry = {"model": f"{provider}:{name}" + (f"@{base}" if base else ""), **extra}
    if key_env:
        entry["api_key_env"] = key_env
    return entry


def env_reference(value: Any) -> str | None:
    """``${NAME}`` -> NAME: a key given by reference to the environment."""
    if isinstance(value, str) and value.startswith("${") and value.endswith("}"):
        return value[2:-1]
    return None



def translate(convention: str, data: dict[str, Any], *, file: Path | None, root: Path, stages: tuple[str, ...],
              env: Mapping[str, str] | None = None) -> Translation:
    """``data`` (the peer's config file, or {} when there is none) as Cambrian config data."""
    from . import openevolve, shinka

    module = {"openevolve": openevolve, "shinka": shinka}[convention]
    label = f"{file.name if file else 'no config file'} ({LABELS[convention]})"
    from . import LAYOUTS, config_file, launch_config

    chosen = convention == "shinka" and file is not None and file == config_file(root, LAYOUTS[convention])
    others = sorted(p.name for p in root.glob("shinka*.yaml") if p != file) if chosen else []
    if chosen and file.name == launch_config(root / "run_evo.py"):
        label += "; run_evo.py's default"
    if others:
        label += f"; not read: {', '.join(others)} (--config FILE to use one)"
    return module.translate(data, label=label, root=root, stages=stages, env=os.environ if env is None else env)


def is_native(data: Mapping[str, Any], file: Path | None, convention: str) -> bool:
    """Whether a config file is Cambrian's own (read as it is) rather than the peer's: the
    Cambrian convention, a file named cambrian.yaml, or one whose keys are all Cambrian's
    and not all the peer's."""
    from ..config import Config
    from . import openevolve, shinka

    if convention == CAMBRIAN or (file is not None and file.name == "cambrian.yaml"):
        return True
    peer = {"openevolve": openevolve.TOP_LEVEL, "shinka": shinka.TOP_LEVEL}[convention]
    return bool(data) and set(data) <= set(Config.model_fields) and not set(data) <= peer


def configure(problem: Any, file: Path | None, env: Mapping[str, str] | None = None
              ) -> tuple[dict[str, Any], str | None, list[str]]:
    """The config data for a run of ``problem`` from ``file`` (None: no file): Cambrian's own
    file as it is, a peer's translated. Returns (data, task text found in the peer's files or
    None, report lines; empty when nothing was translated)."""
    from ..config import read_yaml

    data = read_yaml(file) if file is not None else {}
    if is_native(data, file, problem.convention):
        from . import LAYOUTS

        shadowed = [n for n in LAYOUTS[problem.convention].configs[1:] if (problem.root / n).is_file()]
        if problem.convention != CAMBRIAN and file is not None and shadowed and file.name not in shadowed:
            return data, None, [f"{file.name} read as Cambrian's config; {', '.join(shadowed)} "
                                f"({LABELS[problem.convention]}) not read"]
        return data, None, []
    t = translate(problem.convention, data, file=file, root=problem.root, stages=problem.stages, env=env)
    return t.config, t.task, t.lines()


def with_task(problem: Any, task: str | None = None) -> Any:
    """``problem`` with the task text its peer config holds, when it has no task.md."""
    import dataclasses

    if problem.task or problem.convention == CAMBRIAN:
        return problem
    if task is None and problem.config_path is not None:
        task = configure(problem, problem.config_path, env={})[1]
    return dataclasses.replace(problem, task=task) if task else problem
