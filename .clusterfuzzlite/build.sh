#!/bin/bash -eu
# .clusterfuzzlite/build.sh: what the base-builder's `compile` runs (as
# $SRC/build.sh, from $SRC/pollstorm). The project's own OSS-Fuzz-style
# script does the work: fuzz/build.sh builds fuzz_ops and fuzz_sched with
# $CXX $CXXFLAGS $LIB_FUZZING_ENGINE and puts each target, its .dict, its
# .options and its seed corpus zip into $OUT.
: "${SRC:?set SRC}" "${OUT:?set OUT}"
cd "$SRC/pollstorm"
exec bash -eu fuzz/build.sh
