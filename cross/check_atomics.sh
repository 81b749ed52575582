#!/usr/bin/env bash
# cross/check_atomics.sh: prove which aarch64 atomic instructions a build contains.
#
#   check_atomics.sh MODE OBJDUMP FILE...
#
# MODE llsc: the code must contain ldaxr and stlxr (load-acquire/store-release
#            exclusive loops) and no LSE instruction (cas*, ld<op>*, st<op>*,
#            swp*).
# MODE lse:  the code must contain a cas* instruction and no exclusive
#            load/store (ld[a]xr, st[l]xr and pairs).
# Both:      no call to libgcc's outline-atomics helpers (__aarch64_cas4_acq_rel
#            and friends), which choose LSE or LL/SC at run time.
#
# FILE is an object, a static library (all of it is project code, checked
# whole) or an executable (only functions whose demangled name contains
# "pollstorm::" are checked: executables also hold Debian's libgtest.a and
# libbenchmark, built with outline atomics). The evidence lines (one per
# distinct mnemonic, with the function it is in) are printed either way.
# Exit: 0 the build is what MODE says; 1 it is not; 2 usage; 3 internal error.
set -euo pipefail

usage() { echo "usage: check_atomics.sh llsc|lse OBJDUMP FILE..." >&2; exit 2; }
[ $# -ge 3 ] || usage
mode=$1 objdump=$2
shift 2
case "$mode" in llsc|lse) ;; *) echo "check_atomics: unknown mode '$mode'" >&2; usage ;; esac
command -v "$objdump" >/dev/null || { echo "check_atomics: objdump '$objdump' not found" >&2; exit 3; }

# llvm-objdump decodes only the base ISA unless told otherwise: LSE would show
# as <unknown> and slip through. binutils' objdump decodes everything.
mattr=()
case "$(basename "$objdump")" in llvm-objdump*) mattr=(--mattr=+v8.5a) ;; esac

fail=0
for f in "$@"; do
  [ -r "$f" ] || { echo "check_atomics: cannot read '$f'" >&2; exit 2; }
  whole=1
  case "$(file -b "$f")" in
    *executable*|*"shared object"*) whole=0 ;;
  esac
  dis=$("$objdump" -d -r --demangle --no-show-raw-insn "${mattr[@]}" "$f" 2>&1) \
    || { echo "check_atomics: $objdump failed on $f:"; echo "$dis" | head -5; exit 3; } >&2
  # One line per instruction: "<function>\t<mnemonic>\t<operands>", only for
  # the checked functions. Relocations (-r) show calls to outline helpers.
  table=$(printf '%s\n' "$dis" | awk -v whole="$whole" '
    /^[0-9a-f]+ <.*>:$/ {
      fn = $0; sub(/^[0-9a-f]+ </, "", fn); sub(/>:$/, "", fn)
      keep = whole || index(fn, "pollstorm::") > 0
      next
    }
    !keep { next }
    /R_AARCH64_(CALL|JUMP)26/ { print fn "\tcall\t" $NF; next }
    /^ *[0-9a-f]+:[ \t]/ {
      split($0, parts, "\t")
      m = parts[2]; ops = parts[3]
      if (m == "bl" || m == "b") print fn "\tcall\t" ops
      else print fn "\t" m "\t" ops
    }')
  [ -n "$table" ] || { echo "check_atomics: no code checked in $f (wrong file?)" >&2; exit 3; }
  lse=$(printf '%s\n' "$table" | awk -F'\t' '$2 ~ /^(casp?|ld(add|clr|eor|set|smax|smin|umax|umin)|st(add|clr|eor|set|smax|smin|umax|umin)|swp)(a|l|al)?(b|h)?$/')
  excl=$(printf '%s\n' "$table" | awk -F'\t' '$2 ~ /^(ld|st)a?l?x(r[bh]?|p)$/')
  unknown=$(printf '%s\n' "$table" | awk -F'\t' '$2 ~ /unknown/')
  helpers=$(printf '%s\n' "$table" | awk -F'\t' '$2 == "call" && $3 ~ /__aarch64_(cas|casp|swp|ldadd|ldclr|ldeor|ldset)[0-9]/')
  show() {  # one evidence line per distinct mnemonic: count, and an example (PollDesc<..., Fixed> first)
    printf '%s\n' "$1" | awk -F'\t' '
      function score(f) { return index(f, "PollDesc<") ? (index(f, "Fixed>") ? 2 : 1) : 0 }
      NF { n[$2]++; if (!($2 in ex) || score($1) > score(ex[$2])) { ex[$2] = $1; op[$2] = $3 } }
      END { for (m in n) printf "    %-8s n=%-5d %-24s in %s\n", m, n[m], op[m], substr(ex[m], 1, 100) }' | sort
  }
  echo "== $f ($([ $whole = 1 ] && echo "all code" || echo "pollstorm:: functions"), mode $mode)"
  if [ -n "$unknown" ]; then
    echo "  FAIL: instructions $objdump cannot decode (cannot prove anything):"
    show "$unknown"
    fail=1
  fi
  if [ -n "$helpers" ]; then
    echo "  FAIL: calls outline-atomics helpers (LSE or LL/SC chosen at run time):"
    show "$helpers"
    fail=1
  fi
  if [ "$mode" = llsc ]; then
    if [ -n "$lse" ]; then echo "  FAIL: LSE instructions in an LL/SC build:"; show "$lse"; fail=1; fi
    for need in ldaxr stlxr; do
      hit=$(printf '%s\n' "$excl" | awk -F'\t' -v m="$need" 'index($2, m) == 1')
      if [ -z "$hit" ]; then echo "  FAIL: no $need"; fail=1; fi
    done
    [ -n "$excl" ] && { echo "  exclusive load/store (LL/SC):"; show "$excl"; }
  else
    if [ -n "$excl" ]; then echo "  FAIL: exclusive load/store (LL/SC) in an LSE build:"; show "$excl"; fail=1; fi
    cas=$(printf '%s\n' "$lse" | awk -F'\t' '$2 ~ /^cas/')
    if [ -z "$cas" ]; then echo "  FAIL: no cas* instruction"; fail=1; fi
    [ -n "$lse" ] && { echo "  LSE atomics:"; show "$lse"; }
  fi
done
if [ $fail = 0 ]; then echo "check_atomics: OK ($mode)"; else echo "check_atomics: FAILED ($mode)"; fi
exit $fail
