#!/bin/sh
# Cambrian runs this as: evaluate.sh PROGRAM_PATH, in a fresh work directory inside the
# sandbox. PROGRAM_PATH is the candidate's file (program.c: c_sine) or the directory of
# its whole tree (program/: multi_file_c, whose evaluate.sh is this file, and whose main.c
# is the fixed harness). It compiles the candidate with the system C compiler, runs it on
# 2001 points and prints one JSON object of metrics as its last line of output.
set -u
here=$(dirname "$0")
program=$1
if [ -d "$program" ]; then
    sources=$(ls "$program"/*.c | grep -v '/main\.c$')   # the tree's main.c is the harness
    harness="$program/main.c"
else
    sources=$program
    harness="$here/harness.c"                             # one file: the harness beside this script
fi
invalid() { printf '{"invalid": "%s"}\n' "$(printf '%s' "$1" | tr -d '"\\' | cut -c1-200)"; exit 0; }
objects=""
for source in $sources; do
    object=$(basename "$source" .c).o
    # A program that does not compile is invalid, with the compiler's first error as the reason.
    cc -O2 -std=c99 -c -o "$object" "$source" 2> compile.log \
        || invalid "does not compile: $(grep -m1 error compile.log)"
    objects="$objects $object"
done
# The candidate's code is arithmetic: it may call no function outside itself (the library
# sine under any name or through a pointer, or anything else). nm lists what the linked
# objects still need from elsewhere; a memcpy/memset of the compiler's own is allowed.
# shellcheck disable=SC2086
cc -r -nostdlib -o candidate.o $objects 2> compile.log || invalid "does not link: $(grep -m1 . compile.log)"
calls=$(nm -u candidate.o | awk '{ print $NF }' | grep -Ev '^(memcpy|memset|memmove|__stack_chk_fail)$' | sort -u | tr '\n' ' ')
[ -z "$calls" ] || invalid "calls $calls(only arithmetic is allowed: the task is to compute the sine)"
cc -O2 -std=c99 -o candidate candidate.o "$harness" -lm 2> compile.log || invalid "does not link: $(grep -m1 . compile.log)"
awk 'BEGIN { for (i = 0; i <= 2000; i++) printf "%.17g\n", i * 3.14159265358979 / 4000 }' > points
./candidate < points > values || invalid "the candidate crashed"
# awk computes the true sine itself; a missing, extra or non-numeric line is invalid.
awk 'NF == 2 && $2 == $2 + 0 { n++; e = $2 - sin($1); if (e < 0) e = -e; if (e > m) m = e; next }
     { bad = 1 }
     END {
       if (bad || n != 2001) { printf "{\"invalid\": \"expected 2001 values, got %d usable\"}\n", n; exit }
       if (m < 1e-16) m = 1e-16
       printf "{\"combined_score\": %.10f, \"max_error\": %.6g}\n", -log(m) / log(10), m
     }' values
