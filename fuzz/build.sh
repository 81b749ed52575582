#!/bin/bash -eu
# fuzz/build.sh: OSS-Fuzz / ClusterFuzzLite build script.
# Honours $CC $CXX $CFLAGS $CXXFLAGS $LIB_FUZZING_ENGINE $OUT (and $SRC, $WORK
# if set). Writes, for each target: $OUT/<target>, <target>.dict,
# <target>.options and <target>_seed_corpus.zip (seeds from corpus/<target>/).
# Needs Debian's libboost-context-dev (the simulator's fibers).
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
: "${CXX:?set CXX}" "${CXXFLAGS:=}" "${LIB_FUZZING_ENGINE:?set LIB_FUZZING_ENGINE}" "${OUT:?set OUT}"
WORK="${WORK:-$(mktemp -d)}"
BUILD="$WORK/pollstorm-fuzz-build"
TARGETS=(fuzz_ops fuzz_sched)

cmake -S "$ROOT" -B "$BUILD" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER="$CXX" \
  -DCMAKE_CXX_FLAGS="$CXXFLAGS" \
  -DPOLLSTORM_FUZZ_ENGINE="$LIB_FUZZING_ENGINE" \
  -DPOLLSTORM_BENCH=OFF -DPOLLSTORM_WERROR=OFF
targets=()
for t in "${TARGETS[@]}"; do targets+=("${t}_fuzzer" "${t}_seeds"); done
cmake --build "$BUILD" -j "$(nproc)" --target "${targets[@]}"

mkdir -p "$OUT"
for t in "${TARGETS[@]}"; do
  cp "$BUILD/fuzz/${t}_fuzzer" "$OUT/${t}_fuzzer"
  cp "$ROOT/fuzz/$t.dict" "$OUT/${t}_fuzzer.dict"
  cp "$ROOT/fuzz/$t.options" "$OUT/${t}_fuzzer.options"
  (cd "$BUILD/fuzz/seeds/$t" && python3 -c '
import sys, zipfile, os
with zipfile.ZipFile(sys.argv[1], "w") as z:
    for n in sorted(os.listdir(".")):
        z.write(n)' "$OUT/${t}_fuzzer_seed_corpus.zip")
done
echo "fuzz/build.sh: built ${TARGETS[*]} into $OUT"
