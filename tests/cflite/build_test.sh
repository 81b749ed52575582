#!/usr/bin/env bash
# tests/cflite/build_test.sh ROOT WORK SANITIZER: .clusterfuzzlite/build.sh run
# the way OSS-Fuzz's base-builder `compile` runs it (the image cannot be
# pulled here): $SRC holds the project as $SRC/pollstorm and the script as
# $SRC/build.sh (the tree copied there, as the Dockerfile does), started from
# $SRC/pollstorm with the base image's variables
# for SANITIZER (address or undefined): CC/CXX (clang-14), CFLAGS/CXXFLAGS
# (-O1 -fno-omit-frame-pointer -gline-tables-only
# -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, the sanitizer's flags,
# -fsanitize=fuzzer-no-link), LIB_FUZZING_ENGINE=-fsanitize=fuzzer, OUT, WORK.
# Then every target, its dict, its options file and its seed zip must be in
# $OUT, the options must name files that are there, and each target must run
# 300 inputs from its unpacked seeds with its dict and options (as the
# fuzzing step would), and replay every seed clean.
# Departure from the real image: libstdc++ here, its own libc++ there
# (-stdlib=libc++); the simulator uses only Boost.Context's C fcontext API.
set -uo pipefail
root=$1 work=$2 san=$3
case "$san" in
  address) sflags="-fsanitize=address -fsanitize-address-use-after-scope" ;;
  undefined)
    checks="array-bounds,bool,builtin,enum,float-divide-by-zero,function,integer-divide-by-zero,null,object-size,return,returns-nonnull-attribute,shift,signed-integer-overflow,unreachable,vla-bound,vptr"
    sflags="-fsanitize=$checks,unsigned-integer-overflow -fno-sanitize-recover=$checks" ;;
  *) echo "usage: build_test.sh ROOT WORK address|undefined"; exit 2 ;;
esac
rm -rf "$work" && mkdir -p "$work/src" "$work/out" "$work/work" || exit 3
# A copy, as the Dockerfile's COPY makes (a symlink would put $WORK, which may
# be under the tree's build/, inside its own source tree).
mkdir -p "$work/src/pollstorm"
tar -C "$root" --exclude=./build --exclude=./reports/runs --exclude=./.git -cf - . \
  | tar -C "$work/src/pollstorm" -xf - || exit 3
cp "$root/.clusterfuzzlite/build.sh" "$work/src/build.sh"
export SRC="$work/src" OUT="$work/out" WORK="$work/work" SANITIZER="$san"
export CC=clang-14 CXX=clang++-14 LIB_FUZZING_ENGINE=-fsanitize=fuzzer
export CFLAGS="-O1 -fno-omit-frame-pointer -gline-tables-only -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION $sflags -fsanitize=fuzzer-no-link"
export CXXFLAGS="$CFLAGS"
fail=0
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
echo "== compile ($SANITIZER): bash -eu \$SRC/build.sh from \$SRC/pollstorm"
if ! (cd "$SRC/pollstorm" && bash -eu "$SRC/build.sh") >"$work/compile.log" 2>&1; then
  tail -40 "$work/compile.log"; echo "FAIL .clusterfuzzlite/build.sh"; exit 1
fi
echo "ok   .clusterfuzzlite/build.sh ($(grep -c '^\[' "$work/compile.log") build steps)"
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:silence_unsigned_overflow=1
for t in fuzz_ops fuzz_sched; do
  b="$OUT/${t}_fuzzer"
  check "$t: binary" "[ -x '$b' ]"
  check "$t: dict" "[ -s '$OUT/${t}_fuzzer.dict' ]"
  check "$t: options" "[ -s '$OUT/${t}_fuzzer.options' ]"
  check "$t: seed corpus zip" "[ -s '$OUT/${t}_fuzzer_seed_corpus.zip' ]"
  dict=$(sed -n 's/^dict *= *//p' "$OUT/${t}_fuzzer.options")
  check "$t: the options' dict ($dict) is in \$OUT" "[ -n '$dict' ] && [ -s '$OUT/$dict' ]"
  nseeds=$(find "$root/corpus/$t" -name '*.txt' | wc -l)
  mkdir -p "$work/seeds-$t"
  python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' \
    "$OUT/${t}_fuzzer_seed_corpus.zip" "$work/seeds-$t"
  check "$t: the zip holds every corpus/$t seed ($nseeds)" "[ \$(ls '$work/seeds-$t' | wc -l) -eq $nseeds ]"
  rt=$([ "$san" = address ] && echo __asan_init || echo __ubsan_handle)
  # grep -c reads all of nm's output (grep -q would stop early: SIGPIPE, and pipefail).
  check "$t: built with $SANITIZER ($rt)" "[ \$(nm '$b' 2>/dev/null | grep -c '$rt') -gt 0 ]"
  # Options as the runner passes them: -key=value from the [libfuzzer] section.
  opts=$(sed -n '/^\[libfuzzer\]/,/^\[/{/=/{s/ *= */=/;s/^/-/;p}}' "$OUT/${t}_fuzzer.options" | sed "s|^-dict=|-dict=$OUT/|")
  mkdir -p "$work/corpus-$t"
  # shellcheck disable=SC2086
  (cd "$OUT" && timeout -k 10 300 "$b" $opts -runs=300 -seed=1 "$work/corpus-$t" "$work/seeds-$t") \
    >"$work/run-$t.log" 2>&1
  rc=$?
  check "$t: 300 runs from the seeds with dict and options (exit $rc)" "[ $rc -eq 0 ] && grep -q 'Done 300 runs' '$work/run-$t.log'"
  [ $rc -eq 0 ] || tail -30 "$work/run-$t.log"
  (cd "$OUT" && timeout -k 10 300 "$b" -runs=0 "$work/seeds-$t") >"$work/replay-$t.log" 2>&1
  check "$t: every seed replays clean (exit $?)" "grep -q 'INITED\|Done' '$work/replay-$t.log' && ! grep -q 'ERROR\|runtime error' '$work/replay-$t.log'"
done
exit $fail
