"""A snapshot is read back building only Cambrian's own classes: nothing in a damaged or
crafted store can make a resume call a function."""

import pickle
import zlib

import pytest

from cambrian import snapshot


def _global(module: str, name: str) -> bytes:
    """A pickle whose only content is the object ``module.name`` (STACK_GLOBAL)."""
    def text(s: str) -> bytes:
        data = s.encode()
        return b"\x8c" + bytes([len(data)]) + data + b"\x94"
    return b"\x80\x04" + text(module) + text(name) + b"\x93\x94."


@pytest.mark.parametrize("module, name", [
    ("cambrian.session", "os.system"),        # a dotted name through a module Cambrian imports
    ("cambrian.session", "os"),               # a module, not a class
    ("cambrian.session", "_remove_run"),      # a function of Cambrian's own: a REDUCE would call it
    ("cambrian.session", "Path"),             # a class Cambrian merely imports
    ("builtins", "eval"),
    ("os", "system"),
])
def test_a_snapshot_may_not_build_anything_but_cambrians_classes(module, name):
    with pytest.raises(pickle.UnpicklingError, match="may not build"):
        snapshot.load(zlib.compress(_global(module, name)), config=None)


def test_cambrians_own_classes_are_built():
    from cambrian.stats import Stats

    state = snapshot.State(seq=3, strategy=None, stats=Stats(), notes="n", max_since=0)
    assert snapshot.load(snapshot.dump(state, config=None), config=None).seq == 3
