#!/usr/bin/env bash
# tests/workflows/lint.sh ROOT: every GitHub Actions workflow and local action
# of the tree passes @action-validator/cli (the workflow and action JSON
# schemas), and the negative controls beside this script are rejected (the
# linter can fail). Exit 77 (ctest: skipped) when the linter is not installed:
# `scripts/pollstorm setup` installs it into build/tools/.
set -uo pipefail
root=$1
lint=""
for c in "$root/build/tools/node_modules/.bin/action-validator" "$(command -v action-validator || true)"; do
  [ -n "$c" ] && [ -x "$c" ] && { lint=$c; break; }
done
if [ -z "$lint" ]; then
  echo "action-validator not installed (scripts/pollstorm setup installs it): skipped"
  exit 77
fi
fail=0 n=0
shopt -s nullglob
for f in "$root"/.github/workflows/*.yml "$root"/.github/actions/*/action.yml; do
  n=$((n + 1))
  if "$lint" "$f" >/tmp/lint.$$ 2>&1; then
    echo "ok   ${f#$root/}"
  else
    echo "FAIL ${f#$root/}"; sed 's/^/     /' /tmp/lint.$$ | head -40; fail=1
  fi
done
for f in "$(dirname "$0")"/bad-*.yml; do
  if "$lint" "$f" >/dev/null 2>&1; then
    echo "FAIL ${f##*/}: a broken workflow was accepted"; fail=1
  else
    echo "ok   ${f##*/} rejected"
  fi
done
rm -f /tmp/lint.$$
[ "$n" -gt 0 ] || { echo "FAIL no workflow found under $root/.github"; fail=1; }
echo "$n workflow/action file(s) checked"
exit $fail
