from cambrian.edits import EditFailure, apply_reply, apply_rewrite, apply_search_replace, parse_search_replace
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


def test_a_block_quoting_a_marker_keeps_it():
    child = apply_search_replace(CODE, sr("    return a * x\n    # EVOLVE-BLOCK-END\n", "    return 2 * a\n"))
    assert isinstance(child, str) and "    return 2 * a\n    # EVOLVE-BLOCK-END\n" in child
    assert outside_change(CODE, child) is None


def test_a_block_that_moves_a_marker_fails_with_the_line():
    failure = apply_search_replace(CODE, sr("    a = 1.0\n    return a * x\n    # EVOLVE-BLOCK-END\n",
                                            "    a = 1.0\n    # EVOLVE-BLOCK-END\n    return a * x\n"))
    assert isinstance(failure, EditFailure)
    assert "would change line 7 ('# EVOLVE-BLOCK-END'), outside the evolve regions" in failure.reason


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


def test_ambiguous_match_fails_naming_the_places():
    code = CODE.replace("    a = 1.0\n    return", "    a = 1.0\n    a = 1.0\n    return")
    reason = apply_search_replace(code, sr("    a = 1.0\n", "    a = 2.0\n")).reason
    assert reason.startswith("SEARCH block 1 matches 2 places in the evolve regions (lines 5, 6)")


def test_an_unindented_one_line_search_never_lands_mid_line():
    code = "def f():\n    # EVOLVE-BLOCK-START\n    max_a = 1.0\n    a = 1.0\n    # EVOLVE-BLOCK-END\n"
    child = apply_search_replace(code, sr("a = 1.0\n", "a = 2.0\n"))
    assert child == code.replace("    a = 1.0", "    a = 2.0")


def test_a_fragment_edits_only_whole_tokens():
    code = "def f():\n    # EVOLVE-BLOCK-START\n    max_a = 1.0\n    b = max_a + 11.05\n    # EVOLVE-BLOCK-END\n"
    assert apply_search_replace(code, sr("a = 1.0\n", "a = 2.0\n")).reason == "SEARCH block 1 not found in the program"
    assert apply_search_replace(code, sr("1.0\n", "2.0\n")) == code.replace("max_a = 1.0", "max_a = 2.0")
    assert "matches 2 places" in apply_search_replace(code, sr("max_a\n", "top\n")).reason


def test_exact_lines_beat_looser_tiers():
    code = "def f():\n    # EVOLVE-BLOCK-START\n    if t:\n        x = 1\n    x = 1\n    # EVOLVE-BLOCK-END\n"
    assert apply_search_replace(code, sr("    x = 1\n", "    x = 2\n")) == code.replace("    x = 1\n    #", "    x = 2\n    #")
    assert apply_search_replace(code, sr("        x = 1\n", "        x = 2\n")) == code.replace("        x = 1", "        x = 2")


def test_rebased_block_keeps_relative_indentation():
    code = "class C:\n    def f(self):\n        # EVOLVE-BLOCK-START\n        for i in r:\n            s += i\n        return s\n        # EVOLVE-BLOCK-END\n"
    child = apply_search_replace(code, sr("for i in r:\n    s += i\n", "for i in r:\n    if i:\n        s += i\n"))
    assert "        for i in r:\n            if i:\n                s += i\n        return s\n" in child


def test_blank_lines_around_a_search_are_not_required():
    child = apply_search_replace(CODE, sr("\n    a = 1.0\n\n", "\n    a = 4.0\n\n"))
    assert isinstance(child, str) and "    a = 4.0\n    return a * x\n" in child


def test_crlf_program_keeps_its_line_endings():
    code = CODE.replace("\n", "\r\n")
    child = apply_search_replace(code, sr("a = 1.0\n", "a = 2.0\nb = 1\n"))
    assert isinstance(child, str) and "\n" not in child.replace("\r\n", "")
    assert "    a = 2.0\r\n    b = 1\r\n    return" in child


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


def test_rewrite_repeating_or_half_giving_the_markers_is_accepted():
    for reply in ("```python\n    # EVOLVE-BLOCK-START\n    a = 2.0\n    return a * x\n```",
                  "```python\na = 2.0\nreturn a * x\n# EVOLVE-BLOCK-END\n```",
                  "```\n# EVOLVE-BLOCK-START\n# EVOLVE-BLOCK-START\na = 2.0\nreturn a * x\n# EVOLVE-BLOCK-END\n```"):
        child = apply_rewrite(CODE, reply)
        assert child == CODE.replace("a = 1.0\n    return", "a = 2.0\n    return", 1), reply


def test_a_reply_in_the_other_format_still_applies():
    diff = sr("    a = 1.0\n", "    a = 6.0\n")
    assert "a = 6.0" in apply_reply(CODE, diff, fmt="rewrite")
    marked = "```python\n# EVOLVE-BLOCK-START\nb = 6.0\nreturn b\n# EVOLVE-BLOCK-END\n```"
    assert "    b = 6.0\n    return b\n" in apply_reply(CODE, marked, fmt="diff")
    snippet = apply_reply(CODE, "Change a:\n```python\na = 6.0\n```", fmt="diff")
    assert snippet == EditFailure("no SEARCH/REPLACE block in the reply")  # a snippet is not a rewrite
    assert apply_reply(CODE, "prose only", fmt="diff").reason == "no SEARCH/REPLACE block in the reply"


def _random_program(rng):
    """A function whose region is a random mix of statements and nested blocks."""
    lines, depth = [], 1
    for i in range(rng.randint(3, 14)):
        if depth < 4 and rng.random() < 0.3:
            lines.append("    " * depth + f"if c{i} > {i}:")
            depth += 1
            lines.append("    " * depth + f"v{i} = {rng.random():.3f}")
        else:
            lines.append("    " * depth + f"v{i} = v{i - 1 if i else 0} * {rng.random():.3f}")
            if depth > 1 and rng.random() < 0.3:
                depth -= 1
    return lines


def test_random_blocks_in_every_quirk_land_where_a_person_would_put_them():
    import random

    rng = random.Random(7)
    for case in range(400):
        region = _random_program(rng)
        code = "def f(c0=0):\n    # EVOLVE-BLOCK-START\n" + "".join(l + "\n" for l in region) + \
               "    return 0\n    # EVOLVE-BLOCK-END\n"
        start = rng.randrange(len(region))
        chosen = region[start: start + rng.randint(1, 3)]
        k = rng.randrange(len(chosen))
        new = list(chosen)
        new[k] = new[k].rstrip() + " + 1"
        expected = code.replace("".join(l + "\n" for l in chosen), "".join(l + "\n" for l in new), 1)
        search, replace = list(chosen), list(new)
        quirks = rng.sample(["dedent", "trailing", "crlf", "fence", "prose"], rng.randint(0, 5))
        if "dedent" in quirks:
            cut = min(len(l) - len(l.lstrip()) for l in chosen)
            search, replace = [l[cut:] for l in search], [l[cut:] for l in replace]
        if "trailing" in quirks:
            search = [l + "  " for l in search]
        reply = "<<<<<<< SEARCH\n" + "".join(l + "\n" for l in search) + "=======\n" + \
                "".join(l + "\n" for l in replace) + ">>>>>>> REPLACE\n"
        if "fence" in quirks:
            reply = "```diff\n" + reply + "```\n"
        if "prose" in quirks:
            reply = "I change one line.\n\n" + reply + "\nThat should help.\n"
        if "crlf" in quirks:
            reply = reply.replace("\n", "\r\n")
        child = apply_search_replace(code, reply)
        assert child == expected, (case, quirks, reply, child)


def test_degenerate_replies_are_parsed_in_linear_time():
    """Parsing runs on the event loop, where no proposal timeout can interrupt it. A reply
    of openings and dividers that never closes took a minute at 13 KB (regex backtracking),
    and 20,000 distinct blocks took 20 s (a list scan per block)."""
    import time

    unclosed = "<<<<<<< SEARCH\nx\n=======\ny\n" * 500
    many = "".join(f"<<<<<<< SEARCH\nx{i}\n=======\ny\n>>>>>>> REPLACE\n" for i in range(20_000))
    for reply, reason in [(unclosed, "not closed"), (many, "not found")]:
        start = time.perf_counter()
        out = apply_reply(CODE, reply, fmt="diff")
        assert time.perf_counter() - start < 5
        assert isinstance(out, EditFailure) and reason in out.reason
    assert len(parse_search_replace(many)) == 20_000


def test_quoted_fixed_lines_keep_their_trailing_whitespace():
    """A SEARCH quoting the def line or a marker matches without its trailing spaces; a
    REPLACE that keeps that line (as models write it, without them) does not change it."""
    code = "def f(x):  \n    # EVOLVE-BLOCK-START \n    a = 1.0\n    return a * x\n    # EVOLVE-BLOCK-END\n"
    want = code.replace("a = 1.0", "a = 2.0")
    both = sr("def f(x):\n    # EVOLVE-BLOCK-START\n    a = 1.0\n", "def f(x):\n    # EVOLVE-BLOCK-START\n    a = 2.0\n")
    omitted = sr("    # EVOLVE-BLOCK-START\n    a = 1.0\n", "    a = 2.0\n")
    for reply in (both, omitted):
        assert apply_search_replace(code, reply) == want


def test_a_fragment_never_ends_inside_a_word_or_number():
    code = "def f(x):\n    # EVOLVE-BLOCK-START\n    x = 10\n    return x\n    # EVOLVE-BLOCK-END\n"
    out = apply_search_replace(code, sr("x = 1\n", "x = 2\n"))
    assert isinstance(out, EditFailure) and "not found" in out.reason


def test_a_flattened_search_keeps_the_programs_nesting():
    """Tier 3 (indentation ignored): each REPLACE line takes the indentation of the program
    line it stands for, not one shift for all (which flattened the kept body of an if)."""
    code = ("def f(x):\n    # EVOLVE-BLOCK-START\n    a = 1.0\n    if x > 0:\n        return a * x\n"
            "    return a\n    # EVOLVE-BLOCK-END\n")
    flat = sr("a = 1.0\nif x > 0:\nreturn a * x\n", "a = 1.0\nif x > 1:\nreturn a * x\n")
    two_space = sr("if x > 0:\n  return a * x\n", "if x > 1:\n  return a * x\n  print(x)\n")
    assert apply_search_replace(code, flat) == code.replace("x > 0", "x > 1")
    assert apply_search_replace(code, two_space) == code.replace(
        "x > 0:\n        return a * x\n", "x > 1:\n        return a * x\n        print(x)\n")


def test_a_quoted_marker_kept_at_another_indentation_is_kept():
    """A REPLACE that keeps a quoted evolve marker but writes it at another indentation
    (a comment: its indentation means nothing) keeps it as the program has it; it does
    not "change a line outside the regions"."""
    want = CODE.replace("    a = 1.0\n    return", "    a = 2.0\n    return", 1)
    start = sr("    # EVOLVE-BLOCK-START\n    a = 1.0\n", "# EVOLVE-BLOCK-START\n    a = 2.0\n")
    end = sr("    a = 1.0\n    return a * x\n    # EVOLVE-BLOCK-END\n",
             "    a = 2.0\n    return a * x\n        # EVOLVE-BLOCK-END\n")
    for reply in (start, end):
        assert apply_search_replace(CODE, reply) == want


def test_a_replace_indented_with_the_other_character_takes_the_programs():
    """An exact SEARCH of a tab-indented program whose REPLACE is written with spaces (or
    the other way round) is re-indented with the program's character, as tier 2 does: a
    mix of tabs and spaces does not parse."""
    tabs = "def f(x):\n\t# EVOLVE-BLOCK-START\n\ta = 1.0\n\tif x:\n\t\ta = 2.0\n\treturn a\n\t# EVOLVE-BLOCK-END\n"
    spaces = tabs.replace("\t", "    ")
    new = "    if x:\n        a = 5.0\n        a += 1\n"
    assert apply_search_replace(tabs, sr("\tif x:\n\t\ta = 2.0\n", new)) == tabs.replace(
        "\t\ta = 2.0\n", "\t\ta = 5.0\n\t\ta += 1\n")
    assert apply_search_replace(tabs, sr("\tif x:\n\t\ta = 2.0\n", "\tif x:\n\t\ta = 5.0\n        a += 1\n")) \
        == tabs.replace("\t\ta = 2.0\n", "\t\ta = 5.0\n\t\ta += 1\n")
    assert apply_search_replace(spaces, sr("    if x:\n        a = 2.0\n", new.replace("    ", "\t"))) == spaces.replace(
        "        a = 2.0\n", "        a = 5.0\n        a += 1\n")
    # Matched lines with no indentation (a def line): the program's other lines say tabs.
    region = "# EVOLVE-BLOCK-START\ndef g():\n\tx = 1\n\treturn x\n# EVOLVE-BLOCK-END\n"
    assert apply_search_replace(region, sr("def g():\n", "def g():\n\ty = 2\n")) == region.replace(
        "def g():\n", "def g():\n\ty = 2\n")
    assert apply_search_replace(region, sr("def g():\n", "def g():\n    y = 2\n")) == region.replace(
        "def g():\n", "def g():\n\ty = 2\n")


def test_a_rewrite_in_spaces_of_a_tab_indented_region_takes_tabs():
    """A rewrite at the region's own width but in spaces where the program has tabs (or
    the other way round) is re-indented with the program's character: the lines after the
    region are in the same block, and a mix does not parse."""
    tabs = "def f(x):\n\ty = 0\n\t# EVOLVE-BLOCK-START\n\ta = 1.0\n\t# EVOLVE-BLOCK-END\n\treturn a * x + y\n"
    spaces = tabs.replace("\t", "    ")
    new = "```python\n    # EVOLVE-BLOCK-START\n    a = 2.0\n    if x:\n        a = 3.0\n    # EVOLVE-BLOCK-END\n```\n"
    assert apply_rewrite(tabs, new) == tabs.replace("\ta = 1.0\n", "\ta = 2.0\n\tif x:\n\t\ta = 3.0\n")
    assert apply_rewrite(spaces, new.replace("    ", "\t")) == spaces.replace(
        "    a = 1.0\n", "    a = 2.0\n    if x:\n        a = 3.0\n")


def test_a_rewrite_quoting_the_current_program_before_its_answer_takes_the_answer():
    """Replies often restate the program they were given (markers and all) before the new
    code: a block whose regions are the current ones is a quote, not the answer."""
    want = CODE.replace("a = 1.0\n    return", "a = 2.0\n    return", 1)
    new = "```python\na = 2.0\nreturn a * x\n```\n"
    marked_new = "```python\n# EVOLVE-BLOCK-START\na = 2.0\nreturn a * x\n# EVOLVE-BLOCK-END\n```\n"
    quote = "The current code:\n```python\n" + CODE + "```\n"
    assert apply_rewrite(CODE, quote + "Improved:\n" + new) == want
    assert apply_rewrite(CODE, "Improved:\n" + marked_new + "It was:\n```python\n" + CODE + "```\n") == want
    assert apply_rewrite(CODE, quote) == CODE   # only the quote: unchanged (rejected as such upstream)
    # ... but a quote followed only by a usage example is still the (unchanged) answer.
    assert apply_rewrite(CODE, quote + "Check it:\n```python\nprint(f(3))\n```\n") == CODE
    # ... nor by a helper suggested beside it (it defines none of the region's names).
    helper = "And a helper you could add:\n```python\ndef clip(v):\n    return max(0.0, v)\n```\n"
    assert apply_rewrite(CODE, quote + helper) == CODE
    # ... also when the region defines no name (a helper is only a def; a new body does something).
    bare = "def f(x):\n    # EVOLVE-BLOCK-START\n    return x * 2\n    # EVOLVE-BLOCK-END\n"
    bare_quote = "```python\n" + bare + "```\n"
    assert apply_rewrite(bare, bare_quote + helper) == bare
    assert apply_rewrite(bare, bare_quote + "Better:\n```python\nreturn x * 3\n```\n") == bare.replace("x * 2", "x * 3")


def test_a_block_matching_many_places_fails_in_linear_time():
    """A SEARCH matching thousands of unindented lines is refused quickly: the program's
    indentation character is read once, not once per place (20,000 places took 45 s, on
    the event loop)."""
    import time

    code = "# EVOLVE-BLOCK-START\n" + "x = 1\n" * 20_000 + "# EVOLVE-BLOCK-END\n"
    start = time.perf_counter()
    out = apply_search_replace(code, sr("x = 1\n", "x = 2\n"))
    assert time.perf_counter() - start < 5
    assert isinstance(out, EditFailure) and "matches 20000 places" in out.reason


def test_restyling_leaves_quoted_lines_and_multi_line_strings_as_written():
    """The re-indentation with the program's character touches code the model wrote in
    the other one, not a line the REPLACE keeps from the program (an aligned continuation
    of a tab-indented program), nor the text of a multi-line string, nor does a tab inside
    a string elsewhere make a space-indented program 'use tabs'."""
    tabs = "def f(a,\n      b):\n\t# EVOLVE-BLOCK-START\n\treturn a + b\n\t# EVOLVE-BLOCK-END\n"
    quoted = "def f(a,\n      b):\n\t# EVOLVE-BLOCK-START\n\treturn a + b\n"
    assert apply_search_replace(tabs, sr(quoted, quoted.replace("a + b", "a * b"))) == tabs.replace("a + b", "a * b")
    sql = 'def f():\n\t# EVOLVE-BLOCK-START\n\tn = 1\n\treturn n\n\t# EVOLVE-BLOCK-END\n'
    assert apply_search_replace(sql, sr("\tn = 1\n", '\tq = """\n    SELECT 2\n"""\n\tn = 2\n')) == sql.replace(
        "\tn = 1\n", '\tq = """\n    SELECT 2\n"""\n\tn = 2\n')
    spaces = "def f():\n    # EVOLVE-BLOCK-START\n    n = 1\n    return n\n    # EVOLVE-BLOCK-END\n"
    tsv = '    t = """\n\ta\tb\n"""\n    n = 2\n'
    assert apply_search_replace(spaces, sr("    n = 1\n", tsv)) == spaces.replace("    n = 1\n", tsv)
    region = '    t = """\n\ta\tb\n    """\n    n = 2\n    return n\n'
    assert apply_rewrite(spaces, f"```python\n{region}```\n") == spaces.replace("    n = 1\n    return n\n", region)
    # A string's text at column 0 says nothing of the region's indentation.
    flush = '    t = """\nab\n"""\n    n = 2\n    return n\n'
    assert apply_rewrite(spaces, f"```python\n{flush}```\n") == spaces.replace("    n = 1\n    return n\n", flush)
    deeper = "".join(line if line.strip() in ("ab", '"""') else "    " + line for line in flush.splitlines(keepends=True))
    assert apply_rewrite(spaces, f"```python\n{deeper}```\n") == spaces.replace("    n = 1\n    return n\n", flush)
    # A tab inside a string at the top does not make the program's other lines tabs.
    top = 'T = """\n\tx\n"""\n# EVOLVE-BLOCK-START\ndef g(x):\n    y = x\n    return y\n# EVOLVE-BLOCK-END\n'
    assert apply_search_replace(top, sr("def g(x):\n", "def g(x, k=1):\n    x = x * k\n")) == top.replace(
        "def g(x):\n", "def g(x, k=1):\n    x = x * k\n")
    # ... while a REPLACE written wholly in spaces for a tab program, string and all, is converted whole.
    whole = '    q = """\n    SELECT\n    """\n    n = 2\n'
    assert apply_search_replace(sql, sr("\tn = 1\n", whole)) == sql.replace(
        "\tn = 1\n", '\tq = """\n\tSELECT\n\t"""\n\tn = 2\n')


def test_an_unindented_match_takes_the_character_of_the_code_it_stands_in():
    """A SEARCH of a def line alone: its REPLACE's body takes the character of the body
    after it, not of any tab elsewhere (a helper indented with tabs in a program whose
    region uses spaces made the new line a tab among spaces: an IndentationError)."""
    mixed = "def g():\n\treturn 1\n\n# EVOLVE-BLOCK-START\ndef f(x):\n    a = 1.0\n    return a * x\n# EVOLVE-BLOCK-END\n"
    child = apply_search_replace(mixed, sr("def f(x):\n", "def f(x):\n    x = x + 1\n"))
    assert child == mixed.replace("def f(x):\n", "def f(x):\n    x = x + 1\n")
    tabbed = mixed.replace("    ", "\t").replace("def g():\n\treturn", "def g():\n    return")
    assert apply_search_replace(tabbed, sr("def f(x):\n", "def f(x):\n    x = x + 1\n")) == tabbed.replace(
        "def f(x):\n", "def f(x):\n\tx = x + 1\n")
