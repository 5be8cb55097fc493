#!/bin/sh
# Cambrian runs this as: evaluate.sh PROGRAM_PATH, in a fresh work directory inside the
# sandbox. PROGRAM_PATH is the candidate's file (program.c: c_sine) or the directory of
# its whole tree (program/: multi_file_c, whose evaluate.sh is this file). It compiles
# the candidate with the system C compiler, runs it on 2001 points and prints one JSON
# object of metrics as its last line of output.
set -u
here=$(dirname "$0")
program=$1
if [ -d "$program" ]; then
    sources=$(ls "$program"/*.c)            # the tree brings its own main()
    cat "$program"/*.c "$program"/*.h > all.c 2> /dev/null
else
    sources="$program $here/harness.c"      # one file: the harness beside this script
    cp "$program" all.c
fi
# Comments stripped first, so that a comment mentioning sin(x) is not a call.
cc -fpreprocessed -dD -E -P all.c > stripped 2> /dev/null || cp all.c stripped
if grep -Eq '(^|[^_[:alnum:]])(sin|sinf|sinl|cos|cosf|cosl|tan|tanf|__builtin_[[:alnum:]_]*)[[:space:]]*\(' stripped; then
    echo '{"invalid": "calls a library sine (or a builtin): the task is to compute it with arithmetic"}'
    exit 0
fi
# shellcheck disable=SC2086
if ! cc -O2 -std=c99 -o candidate $sources -lm 2> compile.log; then
    # A program that does not compile is invalid, with the compiler's first error as the reason.
    reason=$(grep -m1 "error" compile.log | tr -d '"\\' | cut -c1-200)
    printf '{"invalid": "does not compile: %s"}\n' "$reason"
    exit 0
fi
awk 'BEGIN { for (i = 0; i <= 2000; i++) printf "%.17g\n", i * 3.14159265358979 / 4000 }' > points
./candidate < points > values || { echo '{"invalid": "the candidate crashed"}'; exit 0; }
# awk computes the true sine itself; a missing, extra or non-numeric line is invalid.
awk 'NF == 2 && $2 == $2 + 0 { n++; e = $2 - sin($1); if (e < 0) e = -e; if (e > m) m = e; next }
     { bad = 1 }
     END {
       if (bad || n != 2001) { printf "{\"invalid\": \"expected 2001 values, got %d usable\"}\n", n; exit }
       if (m < 1e-16) m = 1e-16
       printf "{\"combined_score\": %.10f, \"max_error\": %.6g}\n", -log(m) / log(10), m
     }' values
