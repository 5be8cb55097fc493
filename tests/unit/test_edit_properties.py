"""Properties of the edit parser and the region check, for any text a model may send:
they never raise (failure is an ``EditFailure`` or a reason), and a child they
produce differs from its parent inside the evolve regions only."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cambrian.edits import EditFailure, apply_rewrite, apply_search_replace
from cambrian.program import Frame, compile_error, outside_change

PARENT = """import math

def f(x):
    # EVOLVE-BLOCK-START
    a = 1.0
    return a * x
    # EVOLVE-BLOCK-END

def g(x):
    a = 1.0
    return a * x

# EVOLVE-BLOCK-START
B = [1, 2, 3]
# EVOLVE-BLOCK-END
"""
FRAGMENTS = [
    "<<<<<<< SEARCH\n", "=======\n", ">>>>>>> REPLACE\n", "<<<<<<<SEARCH\n", "  >>>>>>> REPLACE",
    "    a = 1.0\n", "    return a * x\n", "a = 1.0\n", "B = [1, 2, 3]\n", "def g(x):\n", "import math\n",
    "# EVOLVE-BLOCK-START\n", "# EVOLVE-BLOCK-END\n", "    # EVOLVE-BLOCK-END\n", "s = '# EVOLVE-BLOCK-END'\n",
    "```python\n", "```\n", "```", "\n", "\x00", "\t", "    ", "\r\n", "\ufeff", "(" * 50,
]
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
replies = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=30)), max_size=40).map("".join)


def _check(child):
    assert isinstance(child, (str, EditFailure))
    if isinstance(child, str):
        assert outside_change(PARENT, child) is None, child
        assert Frame.parse(child).fixed == Frame.parse(PARENT).fixed
    else:
        assert isinstance(child.reason, str) and child.reason


@SETTINGS
@given(replies)
def test_search_replace_never_raises_and_never_edits_outside_the_regions(reply):
    _check(apply_search_replace(PARENT, reply))


@SETTINGS
@given(replies)
def test_rewrite_never_raises_and_never_edits_outside_the_regions(reply):
    _check(apply_rewrite(PARENT, reply))


@SETTINGS
@given(st.lists(st.sampled_from(["    a = 2.0\n", "    b = a\n", "\n", "x" * 3]), max_size=5).map("".join),
       st.sampled_from(["    a = 1.0\n", "    return a * x\n", "B = [1, 2, 3]\n"]))
def test_a_matching_block_changes_exactly_its_region(replace, search):
    child = apply_search_replace(PARENT, f"<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n")
    _check(child)
    if isinstance(child, str) and search != "    a = 1.0\n":  # that line is also in g(), outside
        assert child.count(replace) >= 1


@SETTINGS
@given(replies)
def test_region_check_never_raises(text):
    reason = outside_change(PARENT, text)
    assert reason is None or (isinstance(reason, str) and reason)
    if reason is None:
        assert Frame.parse(text).fixed == Frame.parse(PARENT).fixed


@SETTINGS
@given(st.lists(st.text(max_size=20), min_size=2, max_size=6))
def test_frame_round_trip(regions):
    frame = Frame.parse(PARENT)
    body = [r.replace("EVOLVE-BLOCK", "EVOLVE_BLOCK") for r in regions[:len(frame.regions)]]
    child = frame.join(body)
    again = Frame.parse(child)
    assert again.fixed == frame.fixed
    assert again.code == child


@SETTINGS
@given(st.text(alphabet=st.characters(codec=None, blacklist_categories=()), max_size=200) | replies)
def test_compile_check_never_raises(text):
    reason = compile_error(text)
    assert reason is None or (isinstance(reason, str) and reason)


def test_compile_check_names_the_hard_cases():
    assert "recursion" in compile_error("x = " + " + ".join(["1"] * 3000) + "\n")
    assert compile_error("x = " + "(" * 3000 + "1" + ")" * 3000 + "\n")
    assert "UTF-8" in compile_error("x = '\ud800'\n")
    assert compile_error("x = 1\x00\n")
    assert compile_error("x = 1\n") is None
