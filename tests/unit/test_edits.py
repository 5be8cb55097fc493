from cambrian.edits import EditFailure, apply_rewrite, apply_search_replace, parse_search_replace
from cambrian.program import outside_change

CODE = """import math

def f(x):
    # EVOLVE-BLOCK-START
    a = 1.0
    return a * x
    # EVOLVE-BLOCK-END

def g(x):
    a = 1.0
    return a * x
"""


def sr(search, replace):
    return f"Here:\n<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n"


def test_exact_match_inside_the_region():
    child = apply_search_replace(CODE, sr("    a = 1.0\n    return a * x\n", "    a = 2.0\n    return a * x\n"))
    assert isinstance(child, str)
    assert "    a = 2.0\n" in child and outside_change(CODE, child) is None
    assert child.count("a = 1.0") == 1  # g() untouched


def test_several_blocks_apply_in_order():
    reply = sr("    a = 1.0\n", "    a = 3.0\n") + sr("    return a * x\n", "    return a + x\n")
    child = apply_search_replace(CODE, reply)
    assert isinstance(child, str) and "a = 3.0" in child and "return a + x\n    # EVOLVE" in child
    assert child.endswith("    a = 1.0\n    return a * x\n")  # g() untouched


def test_a_block_reaching_into_a_marker_fails():
    failure = apply_search_replace(CODE, sr("    return a * x\n    # EVOLVE-BLOCK-END\n", "    pass\n"))
    assert failure.reason == "SEARCH block 1 matches only outside the evolve regions"


def test_whitespace_tolerant_match_keeps_indentation():
    child = apply_search_replace(CODE, sr("a = 1.0\nreturn a * x\n", "a = 5.0\nreturn a - x\n"))
    assert isinstance(child, str)
    assert "    a = 5.0\n    return a - x\n" in child


def test_match_only_outside_the_regions_fails():
    failure = apply_search_replace(CODE, sr("import math\n", "import os\n"))
    assert failure == EditFailure("SEARCH block 1 matches only outside the evolve regions")


def test_not_found_and_no_blocks_and_empty():
    assert apply_search_replace(CODE, sr("    b = 2\n", "    b = 3\n")).reason == "SEARCH block 1 not found in the program"
    assert apply_search_replace(CODE, "I would change a to 2.").reason == "no SEARCH/REPLACE block in the reply"
    assert apply_search_replace(CODE, sr("\n", "x\n")).reason == "SEARCH block 1 is empty"


def test_ambiguous_match_fails():
    code = CODE.replace("    a = 1.0\n    return", "    a = 1.0\n    a = 1.0\n    return")
    assert "matches 2 places" in apply_search_replace(code, sr("    a = 1.0\n", "    a = 2.0\n")).reason


def test_parse_tolerates_marker_lengths():
    reply = "<<<<<<<< SEARCH\nx\n========\ny\n>>>>>>>> REPLACE"
    assert parse_search_replace(reply) == [("x\n", "y\n")]


def test_rewrite_single_region_reindents():
    child = apply_rewrite(CODE, "```python\nb = 2.0\nreturn b * x * x\n```")
    assert isinstance(child, str)
    assert "    b = 2.0\n    return b * x * x\n    # EVOLVE-BLOCK-END" in child
    assert outside_change(CODE, child) is None


def test_rewrite_of_the_whole_program_takes_only_the_regions():
    reply = "```python\n" + CODE.replace("a = 1.0\n    return", "a = 9.0\n    return", 1).replace(
        "import math", "import os") + "```"
    child = apply_rewrite(CODE, reply)
    assert isinstance(child, str) and "a = 9.0" in child and "import math" in child
    assert outside_change(CODE, child) is None


def test_rewrite_failures():
    assert apply_rewrite(CODE, "no code here").reason == "no fenced code block in the reply"
    two = CODE + "# EVOLVE-BLOCK-START\nz = 1\n# EVOLVE-BLOCK-END\n"
    assert "the program has 2" in apply_rewrite(two, "```\n# EVOLVE-BLOCK-START\nq\n# EVOLVE-BLOCK-END\n```").reason
