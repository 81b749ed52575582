#!/usr/bin/env bash
# tests/cross/plan_test.sh ROOT: scripts/cross.sh's host decision, for both
# hosts it supports (`--plan` with POLLSTORM_CROSS_HOST_ARCH): on x86-64 the
# aarch64 programs go through QEMU and the job installs qemu-user and the
# arm64 multiarch libraries; on an aarch64 host it runs natively, installs no
# QEMU and no :arm64 package, and labels its canary and storms "native-*".
# The native path has never run on an ARM64 machine; this checks its plan.
set -uo pipefail
cross="$1/scripts/cross.sh"
fail=0
expect() {  # expect DESCRIPTION COMMAND...: the command succeeds
  local what=$1; shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fail=1; fi
}
plan() { POLLSTORM_CROSS_HOST_ARCH=$1 bash "$cross" --plan --tsan 2>&1; }
x86=$(plan x86_64); arm=$(plan aarch64)
expect "x86-64: through QEMU" grep -q "^aarch64 programs: through QEMU" <<<"$x86"
expect "x86-64: installs qemu-user and arm64 libraries" grep -qE "^packages: .*qemu-user.*libgtest-dev:arm64" <<<"$x86"
expect "x86-64: canary native-x86_64, qemu-lse, qemu-llsc" grep -qx "canary columns: native-x86_64 qemu-lse qemu-llsc" <<<"$x86"
expect "x86-64: TSan under setarch -R qemu-aarch64" grep -q "^tsan time to detect: qemu-tsan, legacy, under setarch -R" <<<"$x86"
expect "aarch64: natively" grep -q "^aarch64 programs: natively" <<<"$arm"
expect "aarch64: no QEMU and no :arm64 package" bash -c '! grep "^packages:" | grep -qE "qemu|:arm64"' <<<"$arm"
expect "aarch64: no x86-64 comparison build" grep -q "^native comparison build: none" <<<"$arm"
expect "aarch64: canary native-lse, native-llsc" grep -qx "canary columns: native-lse native-llsc" <<<"$arm"
expect "aarch64: storms native-lse" grep -q "^storms: native-lse for legacy seed fixed tip$" <<<"$arm"
expect "aarch64: TSan natively" grep -qx "tsan time to detect: native-tsan, legacy" <<<"$arm"
host=$(bash "$cross" --plan 2>&1 | sed -n 's/^host: //p')
expect "no override: the real host ($host)" test "$host" = "$(uname -m)"
POLLSTORM_CROSS_HOST_ARCH=riscv64 bash "$cross" --plan >/dev/null 2>&1; rc=$?
expect "an unsupported host is a usage error (exit $rc)" test "$rc" = 2
POLLSTORM_CROSS_HOST_ARCH=aarch64 bash "$cross" --install-only >/dev/null 2>&1; rc=$?
expect "the override outside --plan is refused (exit $rc)" test "$rc" = 2
exit $fail
