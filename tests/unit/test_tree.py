"""Programs in any language, of several files, or text: bundles, markers, edits, operators."""

import asyncio

import numpy as np
import pytest

from cambrian import tree
from cambrian.edits import EditFailure, apply_reply, apply_rewrite, apply_search_replace
from cambrian.errors import ProblemError
from cambrian.export_git import program_files
from cambrian.operators.base import Context
from cambrian.operators.local import Perturb, Structural, constants
from cambrian.program import Frame, Program, compile_error, outside_change, program_id
from cambrian.prompt import build_messages, load_templates

C_FILE = """#include "coeffs.h"
double f(double x) {
    // EVOLVE-BLOCK-START
    return x * 1.5f + 2; /* 7 */
    // EVOLVE-BLOCK-END
}
"""
HEADER = """#define FIXED 3
/* EVOLVE-BLOCK-START */
#define C3 0.16
/* EVOLVE-BLOCK-END */
"""
MAIN = "int main(void) { return 0; }\n"


def bundle(*files):
    return tree.pack([tree.File(path, text, whole) for path, text, whole in files])


TREE = bundle(("sine.c", C_FILE, False), ("coeffs.h", HEADER, False), ("main.c", MAIN, False))


@pytest.mark.parametrize("start, end", [
    ("# EVOLVE-BLOCK-START", "# EVOLVE-BLOCK-END"),
    ("// EVOLVE-BLOCK-START", "// EVOLVE-BLOCK-END"),
    ("-- EVOLVE-BLOCK-START", "-- EVOLVE-BLOCK-END"),
    (";; EVOLVE-BLOCK-START", ";; EVOLVE-BLOCK-END"),
    ("% EVOLVE-BLOCK-START", "% EVOLVE-BLOCK-END"),
    ("/* EVOLVE-BLOCK-START */", "/* EVOLVE-BLOCK-END */"),
    ("<!-- EVOLVE-BLOCK-START -->", "<!-- EVOLVE-BLOCK-END -->"),
    ("(* EVOLVE-BLOCK-START *)", "(* EVOLVE-BLOCK-END *)"),
])
def test_markers_in_any_comment_syntax(start, end):
    code = f"head\n  {start}\nbody 1\n  {end}\ntail\n"
    frame = Frame.parse(code)
    assert frame.regions == ("body 1\n",) and frame.code == code


def test_a_python_program_is_not_a_bundle_and_keeps_its_id():
    code = "def f():\n    # EVOLVE-BLOCK-START\n    return 1\n    # EVOLVE-BLOCK-END\n"
    assert not tree.is_bundle(code) and tree.kind(code) == "python"
    import hashlib
    assert program_id(code) == hashlib.sha256(code.encode()).hexdigest()[:16]


def test_bundle_round_trip_and_frame_over_every_file():
    files = tree.unpack(TREE)
    assert [f.path for f in files] == ["coeffs.h", "main.c", "sine.c"]  # path order
    assert tree.pack(files) == TREE
    frame = Frame.parse(TREE)
    assert frame.regions == ("#define C3 0.16\n", "    return x * 1.5f + 2; /* 7 */\n")
    assert frame.code == TREE
    assert tree.kind(TREE) == "code" and compile_error(TREE) is None  # C is not compiled here


def test_markers_pair_within_a_file_only():
    broken = bundle(("a.c", "// EVOLVE-BLOCK-START\nx\n", False), ("b.c", "// EVOLVE-BLOCK-END\n", False))
    with pytest.raises(ProblemError, match="a.c: EVOLVE-BLOCK-START is never closed"):
        Frame.parse(broken)


def test_python_files_of_a_bundle_are_compiled_and_named():
    code = bundle(("a.py", "# EVOLVE-BLOCK-START\nx = (\n# EVOLVE-BLOCK-END\n", False))
    assert compile_error(code).startswith("a.py: syntax error")


def test_a_text_file_evolves_whole():
    code = bundle(("prompt.txt", "Be brief.\nBe kind.\n", True))
    assert Frame.parse(code).regions == ("Be brief.\nBe kind.\n",)
    assert tree.kind(code) == "text" and compile_error("=== TEXT: p.txt ===\nnot python (\n") is None


def test_region_check_holds_in_every_file():
    assert outside_change(TREE, TREE.replace("0.16", "0.17")) is None
    assert "outside the evolve regions" in outside_change(TREE, TREE.replace("FIXED 3", "FIXED 4"))
    assert "outside the evolve regions" in outside_change(TREE, TREE.replace("return 0;", "return 1;"))
    sneaky = TREE.replace("#define C3 0.16\n", "#define C3 0.16\n=== FILE: evil.c ===\n")
    assert outside_change(TREE, sneaky) is not None


def test_multi_file_search_replace_names_the_file():
    reply = ("coeffs.h\n<<<<<<< SEARCH\n#define C3 0.16\n=======\n#define C3 0.1666\n>>>>>>> REPLACE\n\n"
             "### `sine.c`\n```c\n<<<<<<< SEARCH\n    return x * 1.5f + 2; /* 7 */\n=======\n"
             "    return x * 1.5f + 2.5; /* 7 */\n>>>>>>> REPLACE\n```\n")
    child = apply_search_replace(TREE, reply)
    assert isinstance(child, str), child
    assert "#define C3 0.1666\n" in child and "2.5; /* 7 */" in child and outside_change(TREE, child) is None


def test_an_ambiguous_block_asks_for_the_file():
    code = bundle(("a.c", "// EVOLVE-BLOCK-START\nint n = 1;\n// EVOLVE-BLOCK-END\n", False),
                  ("b.c", "// EVOLVE-BLOCK-START\nint n = 1;\n// EVOLVE-BLOCK-END\n", False))
    block = "<<<<<<< SEARCH\nint n = 1;\n=======\nint n = 2;\n>>>>>>> REPLACE\n"
    failure = apply_search_replace(code, block)
    assert isinstance(failure, EditFailure) and "in a.c, b.c" in failure.reason and "path" in failure.reason
    child = apply_search_replace(code, "b.c\n" + block)
    assert tree.unpack(child)[1].text == "// EVOLVE-BLOCK-START\nint n = 2;\n// EVOLVE-BLOCK-END\n"
    assert tree.unpack(child)[0].text == tree.unpack(code)[0].text
    missing = apply_search_replace(code, "a.c\n<<<<<<< SEARCH\nint m;\n=======\nint k;\n>>>>>>> REPLACE\n")
    assert missing.reason == "SEARCH block 1 not found in a.c"


def test_edit_of_a_context_file_is_refused():
    failure = apply_search_replace(TREE, "main.c\n<<<<<<< SEARCH\nint main(void) { return 0; }\n=======\n"
                                         "int main(void) { return 1; }\n>>>>>>> REPLACE\n")
    assert isinstance(failure, EditFailure) and "outside the evolve regions" in failure.reason


def test_rewrite_takes_code_blocks_of_the_program_language():
    single = bundle(("program.c", C_FILE, False))
    for tag in ("c", "C", "cpp", ""):
        child = apply_reply(single, f"Here:\n```{tag}\nreturn x * 2.0;\n```\n", fmt="rewrite")
        assert isinstance(child, str) and "        return x * 2.0;" not in child and "    return x * 2.0;\n" in child
    assert isinstance(apply_reply(single, "```bash\ncc -O2 program.c\n```\n", fmt="rewrite"), EditFailure)
    per_file = ("```c\n/* EVOLVE-BLOCK-START */\n#define C3 0.2\n/* EVOLVE-BLOCK-END */\n```\n"
                "```c\n// EVOLVE-BLOCK-START\nreturn 0.0;\n// EVOLVE-BLOCK-END\n```\n")
    child = apply_rewrite(TREE, per_file)
    assert isinstance(child, str), child
    assert Frame.parse(child).regions == ("#define C3 0.2\n", "    return 0.0;\n")



def test_a_rewrite_whose_blocks_name_their_files_puts_each_in_its_file():
    # TREE's files in order: coeffs.h, main.c, sine.c; the reply names them in the other order
    named = ("### sine.c\n```c\n// EVOLVE-BLOCK-START\nreturn 0.0;\n// EVOLVE-BLOCK-END\n```\n\n"
             "**coeffs.h**\n```c\n/* EVOLVE-BLOCK-START */\n#define C3 0.2\n/* EVOLVE-BLOCK-END */\n```\n")
    child = apply_rewrite(TREE, named)
    assert isinstance(child, str), child
    assert Frame.parse(child).regions == ("#define C3 0.2\n", "    return 0.0;\n")
    only_one = "File: `sine.c`\n```c\n// EVOLVE-BLOCK-START\nreturn 1.0;\n// EVOLVE-BLOCK-END\n```\n"
    child = apply_rewrite(TREE, only_one)  # a file the reply does not give keeps its regions
    assert isinstance(child, str) and Frame.parse(child).regions == ("#define C3 0.16\n", "    return 1.0;\n")
    two = "### sine.c\n```c\n// EVOLVE-BLOCK-START\na;\n// EVOLVE-BLOCK-END\n// EVOLVE-BLOCK-START\nb;\n// EVOLVE-BLOCK-END\n```\n"
    failure = apply_rewrite(TREE, two)
    assert isinstance(failure, EditFailure) and "sine.c" in failure.reason and "2 evolve region" in failure.reason
    texts = bundle(("a.txt", "Alpha.\n", True), ("b.txt", "Beta.\n", True))
    child = apply_rewrite(texts, "b.txt:\n```\nBeta, better.\n```\na.txt:\n```text\nAlpha, better.\n```\n")
    assert child == "=== TEXT: a.txt ===\nAlpha, better.\n=== TEXT: b.txt ===\nBeta, better.\n"

def test_rewrite_of_a_text_takes_any_block():
    code = bundle(("prompt.txt", "Be brief.\n", True))
    child = apply_reply(code, "```markdown\nBe brief and exact.\n```", fmt="rewrite")
    assert child == "=== TEXT: prompt.txt ===\nBe brief and exact.\n"


def test_c_literals_keep_their_suffix_and_skip_comments_strings_and_hex():
    code = bundle(("a.c", '// EVOLVE-BLOCK-START\nx = 1.5f * 2 + 0x1F; // 7\ns = "3.0"; y = a-1; z = .5e-3;\n'
                          "// EVOLVE-BLOCK-END\nint fixed = 9;\n", False))
    found = [(t.text, v, code[t.end]) for t, v in constants(code)]
    assert found == [("1.5", 1.5, "f"), ("2", 2, " "), ("1", 1, ";"), (".5e-3", 0.0005, ";")]


@pytest.mark.parametrize("name, comment", [("a.lua", "--"), ("a.awk", "#"), ("a.pl", "#"), ("a.f90", "!"),
                                           ("a.erl", "%"), ("a.toml", "#")])
def test_literals_in_a_languages_own_comments_are_left_alone(name, comment):
    code = bundle((name, f"{comment} EVOLVE-BLOCK-START\nx = 2 {comment} was 7\n{comment} EVOLVE-BLOCK-END\n", False))
    assert [t.text for t, _ in constants(code)] == ["2"]


def test_builtin_operators_edit_c_regions_only():
    parent = Program("p", TREE, None, "init", 0, 0, "ok", score=1.0)
    context = Context(task="", objective="s", direction="maximize")
    rng = np.random.default_rng(1)
    for _ in range(20):
        for op in (Perturb(), Structural()):
            made = asyncio.run(op.propose(parent, [], context, rng))
            if hasattr(made, "code"):
                assert outside_change(TREE, made.code) is None and made.code != TREE
    child = asyncio.run(Perturb().propose(parent, [], context, np.random.default_rng(0))).code
    import re
    assert re.fullmatch(r"    return x \* [\d.e-]+f \+ \d+; /\* 7 \*/\n", Frame.parse(child).regions[1])  # suffix kept


def test_prompt_shows_each_file_with_its_language_and_context_files():
    parent = Program("p", TREE, None, "init", 0, 0, "ok", score=1.0)
    templates = load_templates()
    diff = build_messages("diff", templates=templates, task="t", objective="s", direction="maximize",
                          parent=parent, inspirations=[])[1]["content"]
    assert "### sine.c\n```c\n" in diff and "### main.c (context: fixed, do not edit)" in diff
    assert "put the path of the file a SEARCH block edits" in diff
    rewrite = build_messages("rewrite", templates=templates, task="t", objective="s", direction="maximize",
                             parent=parent, inspirations=[])[1]["content"]
    assert "```c code block" in rewrite and "`/* EVOLVE-BLOCK-START */`" in rewrite


def test_text_programs_get_text_prompts():
    parent = Program("p", bundle(("prompt.txt", "Be brief.\n", True)), None, "init", 0, 0, "ok", score=0.5)
    system, user = build_messages("rewrite", templates=load_templates(), task="t", objective="accuracy",
                                  direction="maximize", parent=parent, inspirations=[])
    assert "You improve a text" in system["content"] and "EVOLVE-BLOCK" not in system["content"]
    assert "## Current text" in user["content"] and "```text\nBe brief.\n```" in user["content"]


def test_write_puts_a_tree_on_disk(tmp_path):
    written = tree.write(TREE, tmp_path / "program")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == [
        "program", "program/coeffs.h", "program/main.c", "program/sine.c"]
    assert (tmp_path / "program" / "coeffs.h").read_text() == HEADER
    assert tree.program_name(TREE) == "program" and tree.program_name(bundle(("initial_program.c", C_FILE, False))) == "program.c"


def test_a_tree_of_one_file_stays_a_tree(tmp_path):
    (tmp_path / "single.c").write_text(C_FILE)
    assert tree.load_single(tmp_path / "single.c").startswith("=== FILE: initial_program.c ===\n")
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "solver.c").write_text(C_FILE)
    code = tree.load_tree(tmp_path / "tree")
    assert tree.program_name(code) == "program" and program_files(code) == [("program/solver.c", C_FILE)]
    assert [p.relative_to(tmp_path).as_posix() for p in tree.write(code, tmp_path / "program")] == [
        "program", "program/solver.c"]


def test_a_forged_file_header_in_a_region_is_refused_as_a_new_file(tmp_path):
    program = bundle(("a.c", C_FILE, False), ("prompt.txt", "Be brief.\n", True))
    forged = Frame.parse(program).join(["    return x;\n", "Be brief.\n=== FILE: ../evil.c ===\nint evil;\n"])
    assert tree.paths(forged) == ("a.c", "prompt.txt", "../evil.c")
    assert "adds, removes or renames a file" in outside_change(program, forged)
    with pytest.raises(ValueError, match="outside the tree"):
        tree.write(forged, tmp_path / "program")
    assert not (tmp_path / "program").exists()


@pytest.mark.parametrize("name", ["trailing ", " leading.c", "new\nline.c", "return\r.c"])
def test_a_file_name_a_header_cannot_carry_is_a_problem_error(tmp_path, name):
    (tmp_path / "ok.c").write_text("// EVOLVE-BLOCK-START\nint x;\n// EVOLVE-BLOCK-END\n")
    (tmp_path / name).write_text("int y;\n")
    with pytest.raises(ProblemError, match="a file name with"):
        tree.load_tree(tmp_path)


def test_a_tree_follows_linked_directories_and_says_what_it_cannot_read(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "util.c").write_text("int util;\n")
    root = tmp_path / "tree"
    root.mkdir()
    (root / "main.c").write_text(C_FILE)
    (root / "lib").symlink_to("../lib")
    assert tree.paths(tree.load_tree(root)) == ("lib/util.c", "main.c")
    (tmp_path / "lib" / "loop").symlink_to("../tree")
    with pytest.raises(ProblemError, match="already in the program tree"):
        tree.load_tree(root)
    (tmp_path / "lib" / "loop").unlink()
    (root / "gone.c").symlink_to(tmp_path / "nowhere.c")
    with pytest.raises(ProblemError, match="cannot read .*gone.c"):
        tree.load_tree(root)
