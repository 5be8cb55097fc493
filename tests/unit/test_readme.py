"""The README's set-up commands are what CI runs: one line each, with the venv step."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV = "python3 -m venv .venv && . .venv/bin/activate && "


def _commands():
    text = (ROOT / "README.md").read_text()
    setup = text[text.index("## Set-up"):text.index("## Using it")]
    return re.findall(r"```sh\n(.*?)\n```", setup, re.DOTALL)


def test_two_set_up_commands_each_making_a_venv_first():
    run, tests = _commands()
    for command in (run, tests):
        assert "\n" not in command and command.startswith(VENV)
    assert run.endswith("pip install -e '.[examples]' && cambrian run examples/circle_packing")
    assert tests.endswith("pip install -e '.[dev]' && python -m pytest -q")


def test_ci_runs_exactly_the_readme_test_command():
    script = (ROOT / ".ci" / "run").read_text()
    extract = script[script.index('command="$('):].split("\n", 1)[0]
    found = subprocess.run(["bash", "-c", extract + '\nprintf %s "$command"'], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout
    assert found == _commands()[1]
    assert 'eval "$command"' in script
