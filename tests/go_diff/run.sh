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
#       extra step), for every variant. Needs no Go.
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
# runs without Go; each wrong copy differs from it in exactly one step.
"${driver[@]}" --scenarios "$scenarios" --emit "$work/ref.trace" || { echo "go_diff: --emit failed" >&2; exit 3; }
nvar=$("${driver[@]}" --list-variants | wc -l)
[ "$nvar" -ge 1 ] || { echo "go_diff: --list-variants listed nothing" >&2; exit 3; }
failed=0

# control NAME KEY FILE: comparing against FILE must exit 1 and name KEY once
# per variant.
control() {
  local name=$1 key=$2 file=$3 rc n
  [ -n "$key" ] || { echo "go_diff: control '$name': no step to change in the reference" >&2; exit 3; }
  cmp -s "$file" "$work/ref.trace" && { echo "go_diff: control '$name' changed nothing" >&2; exit 3; }
  "${driver[@]}" --scenarios "$scenarios" --go-trace "$file" >"$work/$name.out" 2>&1
  rc=$?
  n=$(grep -c "^DISAGREE [^ ]* ${key}[ :]" "$work/$name.out")
  if [ "$rc" -eq 1 ] && [ "$n" -eq "$nvar" ]; then
    echo "control $name: caught on all $nvar variants ($key)"
  else
    echo "control $name NOT caught: exit $rc, $n of $nvar variants name $key; output:"
    cat "$work/$name.out"
    failed=1
  fi
}

key_of() { grep -v '^#' "$work/ref.trace" | grep -m1 -e "$1" | cut -d' ' -f1; }
# edit_one KEY FROM TO: the reference with FROM replaced by TO in KEY's line only
edit_one() { awk -v k="$1" -v from="$2" -v to="$3" \
  '{ if ($1 == k) { i = index($0, from); if (i) $0 = substr($0, 1, i - 1) to substr($0, i + length(from)) } print }' \
  "$work/ref.trace"; }

k=$(key_of '=> timeout n=0'); edit_one "$k" '=> timeout n=0' '=> ok n=1' >"$work/outcome.trace"
control outcome "$k" "$work/outcome.trace"
k=$(key_of ' t>='); edit_one "$k" ' t>=' ' t<' >"$work/timing.trace"
control timing "$k" "$work/timing.trace"
k=$(key_of ' join '); awk -v k="$k" '$1 != k' "$work/ref.trace" >"$work/missing.trace"
control missing "$k" "$work/missing.trace"
k="${k%%#*}#99"; { cat "$work/ref.trace"; echo "$k read r 1 => ok n=1"; } >"$work/extra.trace"
control extra "$k" "$work/extra.trace"
exit $failed
