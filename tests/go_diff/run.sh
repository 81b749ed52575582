#!/usr/bin/env bash
# tests/go_diff/run.sh: the ctest entries of the Go differential
# (docs/go-differential.md). The port's driver command comes after `--`
# (an emulator first in cross builds).
#
#   run.sh compare  SCENARIOS WORKDIR -- DRIVER...
#       build tests/go_diff with the local Go (standard library only, no
#       network, caches under build/), run it, compare every variant with its
#       trace. Exit 77 (ctest SKIP_RETURN_CODE) when no `go` is on PATH.
#   run.sh negative SCENARIOS WORKDIR -- DRIVER...
#       the negative control: the comparator must report a deliberately wrong
#       expected trace (one outcome, one timing class, one missing and one
#       extra step, one precondition marked late), for every variant. Needs no Go.
#
# Exit: 0 pass, 1 disagreement or a control that was not caught, 2 usage,
# 3 internal error, 77 skipped.
set -u
usage() { echo "go_diff/run.sh: $1" >&2; exit 2; }
[ $# -ge 5 ] || usage "usage: run.sh compare|negative SCENARIOS WORKDIR -- DRIVER..."
mode=$1 scenarios=$2 work=$3
[ "$4" = "--" ] || usage "expected '--' before the driver command, got '$4'"
shift 4
driver=("$@")
[ -r "$scenarios" ] || usage "cannot read scenarios '$scenarios'"
mkdir -p "$work" || usage "cannot create '$work'"
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

case "$mode" in
  compare)
    if ! command -v go >/dev/null 2>&1; then
      echo "SKIP: no 'go' on PATH: the Go differential needs Debian's golang-go (scripts/pollstorm setup installs it)"
      exit 77
    fi
    echo "go_diff: building tests/go_diff with $(go version | cut -d' ' -f3)"
    (cd "$here" && GOCACHE="$root/build/go-cache" GOPATH="$root/build/go-path" GOFLAGS= \
       GOPROXY=off GOTOOLCHAIN=local GO111MODULE=on go build -o "$work/go_diff_go" .) \
      || { echo "go_diff: tests/go_diff failed to build" >&2; exit 3; }
    "$work/go_diff_go" "$scenarios" "$work/go.trace" || { echo "go_diff: the Go side failed" >&2; exit 3; }
    echo "go_diff: Go trace in $work/go.trace ($(grep -vc '^#' "$work/go.trace") steps)"
    "${driver[@]}" --scenarios "$scenarios" --go-trace "$work/go.trace"
    exit $?
    ;;
  negative) ;;
  *) usage "unknown mode '$mode' (compare or negative)" ;;
esac

# The reference is the port's own trace (default variant), so the control
# runs without Go. One wrong copy of it carries five planted changes, each in
# its own scenario: one outcome, one timing class, one traced step deleted,
# one foreign step added, and one step marked late (its by= precondition
# missed). The comparison must exit 1, name each of the first four steps once
# per variant, and call the late scenario inconclusive on every variant
# without judging it.
"${driver[@]}" --scenarios "$scenarios" --emit "$work/ref.trace" || { echo "go_diff: --emit failed" >&2; exit 3; }
nvar=$("${driver[@]}" --list-variants | wc -l)
[ "$nvar" -ge 1 ] || { echo "go_diff: --list-variants listed nothing" >&2; exit 3; }
wrong="$work/wrong.trace"
cp "$work/ref.trace" "$wrong"
used=" "

# pick NAME PATTERN: the first step of the reference matching PATTERN in a
# scenario no other change uses (the caller adds it to $used: this runs in a
# subshell).
# Scenarios with a by= precondition come last: on a slow machine (QEMU, a
# loaded box) they can turn out inconclusive, and a control placed there
# would then go unjudged on that variant.
pick() {
  local k pass
  for pass in untimed any; do
    for k in $(grep -v '^#' "$work/ref.trace" | grep -e "$2" | cut -d' ' -f1); do
      case "$used" in *" ${k%%#*} "*) continue ;; esac
      if [ "$pass" = untimed ]; then
        case "$timed" in *" ${k%%#*} "*) continue ;; esac
      fi
      echo "$k"
      return
    done
  done
  echo "go_diff: control $1: no step matches '$2' in a scenario of its own" >&2
  exit 3
}
# edit KEY FROM TO: replace FROM by TO in KEY's line of the wrong copy only.
edit() {
  awk -v k="$1" -v from="$2" -v to="$3" \
    '{ if ($1 == k) { i = index($0, from); if (i) $0 = substr($0, 1, i - 1) to substr($0, i + length(from)) } print }' \
    "$wrong" >"$wrong.new" && mv "$wrong.new" "$wrong"
}

# The late change goes on the last by= step of the table ("<scenario>#<step>").
late=$(awk '{ sub(/#.*/, "") } NF == 0 { next } $1 == "scenario" { sc = $2; i = 0; next }
            $1 == "end" { next } { i++ } /(^|[ \t])by=[0-9]+/ { k = sc "#" i } END { print k }' "$scenarios")
[ -n "$late" ] || { echo "go_diff: control late: no by= step in $scenarios" >&2; exit 3; }
used=" ${late%%#*} "
timed=" $(awk '{ sub(/#.*/, "") } $1 == "scenario" { sc = $2; next }
               /(^|[ \t])by=[0-9]+/ { print sc }' "$scenarios" | sort -u | tr '\n' ' ') "
edit "$late" '=> ok' '=> ok late(by=1)'
k_outcome=$(pick outcome '=> timeout n=0') || exit 3
used="$used${k_outcome%%#*} "
edit "$k_outcome" '=> timeout n=0' '=> ok n=1'
k_timing=$(pick timing ' t>=') || exit 3
used="$used${k_timing%%#*} "
edit "$k_timing" ' t>=' ' t<'
k_missing=$(pick missing ' join ') || exit 3
used="$used${k_missing%%#*} "
awk -v k="$k_missing" '$1 != k' "$wrong" >"$wrong.new" && mv "$wrong.new" "$wrong"
k_extra=$(pick extra ' => ') || exit 3
k_extra="${k_extra%%#*}#99"
echo "$k_extra read r 1 => ok n=1" >>"$wrong"

"${driver[@]}" --scenarios "$scenarios" --go-trace "$wrong" >"$work/wrong.out" 2>&1
rc=$?
failed=0
[ "$rc" -eq 1 ] || { echo "control: the comparison exited $rc, not 1"; failed=1; }
for c in outcome timing missing extra; do
  eval "k=\$k_$c"
  n=$(grep -c "^DISAGREE [^ ]* ${k}[ :]" "$work/wrong.out")
  # A variant on which the control's scenario was inconclusive (a timed one,
  # only when nothing else fits) cannot judge it; every other one must.
  u=$(grep -c "^INCONCLUSIVE [^ ]* ${k%%#*}: " "$work/wrong.out")
  if [ "$n" -eq "$nvar" ]; then
    echo "control $c: caught on all $nvar variants ($k)"
  elif [ "$n" -ge 1 ] && [ $((n + u)) -eq "$nvar" ]; then
    echo "control $c: caught on the $n of $nvar variants that judged it ($k; inconclusive on $u)"
  else
    echo "control $c NOT caught: $n of $nvar variants name $k"
    failed=1
  fi
done
sc=${late%%#*}
n=$(grep -c "^INCONCLUSIVE [^ ]* $sc: " "$work/wrong.out")
if [ "$n" -eq "$nvar" ] && ! grep -q "^DISAGREE [^ ]* $sc#" "$work/wrong.out"; then
  echo "control late: $sc inconclusive on all $nvar variants, not judged ($late)"
else
  echo "control late NOT handled: $n of $nvar variants call $sc inconclusive"
  failed=1
fi
if [ "$failed" -ne 0 ]; then
  echo "the comparison's output:"
  cat "$work/wrong.out"
fi
exit $failed
