#!/usr/bin/env bash
# check_hardening.sh - the hardening flags of the top-level CMakeLists.txt
# took effect in the built files (readelf, objdump; binutils).
#
# Usage: check_hardening.sh EXE LIB SANITIZE BUILD_TYPE
#   EXE        the msfaq command        LIB   libmsfaq.so
#   SANITIZE   MSFAQ_SANITIZE ("" when none)
#   BUILD_TYPE CMAKE_BUILD_TYPE
#
# Checked on both files:
#   RELRO        a GNU_RELRO segment and BIND_NOW (-Wl,-z,relro,-z,now):
#                the GOT is read-only after start-up
#   NX stack     GNU_STACK is RW, not RWE
#   no TEXTREL   position-independent code throughout (-fPIC)
#   canary       functions call __stack_chk_fail (-fstack-protector-strong
#                guards every function with a local array); with GCC also
#                every compilation unit of ours records the flag in DWARF
#   FORTIFY      __*_chk functions are imported (-D_FORTIFY_SOURCE=2);
#                skipped in sanitizer and Debug builds, where the top-level
#                CMakeLists.txt leaves FORTIFY off on purpose
# and on the executable: PIE (ELF type DYN with the PIE flag).
set -uo pipefail
exe=$1 lib=$2 sanitize=${3:-} build_type=${4:-}
fails=0 oks=0 skips=0
ok() { echo "ok   $*"; oks=$((oks + 1)); }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
skip() { echo "skip $*"; skips=$((skips + 1)); }
for tool in readelf objdump; do
  command -v $tool >/dev/null ||
    { echo "SKIP: $tool missing (binutils)"; exit 77; }
done

# undefined (imported) dynamic symbols of a file
imports() { readelf --dyn-syms -W "$1" | awk '$7 == "UND" { print $8 }' |
  sed 's/@.*//' | sort -u; }

check_common() {
  local f=$1 n=$(basename "$1")
  local phdrs dyn
  phdrs=$(readelf -lW "$f")
  dyn=$(readelf -dW "$f")

  if grep -q 'GNU_RELRO' <<<"$phdrs"; then
    ok "$n: GNU_RELRO segment"
  else
    bad "$n: no GNU_RELRO segment (-Wl,-z,relro missing)"
  fi
  if grep -qE '\(FLAGS\).*BIND_NOW|\(FLAGS_1\).*\bNOW\b|\(BIND_NOW\)' <<<"$dyn"
  then
    ok "$n: BIND_NOW (full RELRO)"
  else
    bad "$n: no BIND_NOW: partial RELRO only (-Wl,-z,now missing)"
  fi
  local stack
  stack=$(awk '$1 == "GNU_STACK" { print $7 }' <<<"$phdrs")
  if [ -z "$stack" ]; then
    bad "$n: no GNU_STACK header: the stack may be executable"
  elif [[ $stack == *E* ]]; then
    bad "$n: executable stack (GNU_STACK $stack)"
  else
    ok "$n: non-executable stack (GNU_STACK $stack)"
  fi
  if grep -q 'TEXTREL' <<<"$dyn"; then
    bad "$n: text relocations (code not built position-independent)"
  else
    ok "$n: no text relocations"
  fi

  local imp
  imp=$(imports "$f")
  local guarded
  guarded=$(objdump -d --no-show-raw-insn "$f" |
    awk '/^[0-9a-f]+ <.*>:$/ { fn = $2 }
         /call.*<__stack_chk_fail(@plt)?>/ { seen[fn] = 1 }
         END { n = 0; for (k in seen) n++; print n }')
  if grep -qx '__stack_chk_fail' <<<"$imp" && [ "$guarded" -gt 0 ]; then
    ok "$n: stack protector: $guarded functions check a canary"
  else
    bad "$n: no function checks a stack canary (__stack_chk_fail not" \
        "called): -fstack-protector-strong did not take effect"
  fi
  # GCC records its code-generation flags in DWARF: every one of our
  # compilation units must carry -fstack-protector-strong
  local cus
  cus=$(readelf --debug-dump=info "$f" 2>/dev/null |
    awk '/DW_AT_producer/ { sub(/.*DW_AT_producer[^:]*:( \([^)]*\):)? */, "");
                            p = $0 }
         /DW_AT_name/ && p != "" { sub(/.*: /, ""); print p "\t" $0;
                                   p = "" }')
  if [ -z "$cus" ]; then
    skip "$n: no DWARF (not a -g build): compiler flags not read"
  elif ! grep -q '^GNU ' <<<"$cus"; then
    skip "$n: compiler records no flags in DWARF ($(head -1 <<<"$cus" |
      cut -f1)); canary checked by the call count above"
  else
    local ours missing
    ours=$(grep -E $'\t.*/(plugin|cli)/[^/]*\\.c$' <<<"$cus")
    missing=$(grep -v -- '-fstack-protector-strong' <<<"$ours" | cut -f2)
    if [ -z "$ours" ]; then
      skip "$n: no compilation unit of ours in DWARF"
    elif [ -n "$missing" ]; then
      bad "$n: built without -fstack-protector-strong:" $missing
    else
      ok "$n: all $(wc -l <<<"$ours") compilation units of ours built" \
         "with -fstack-protector-strong"
    fi
  fi

  if [ -n "$sanitize" ]; then
    skip "$n: FORTIFY (sanitizer build: off on purpose)"
  elif [ "$build_type" = Debug ]; then
    skip "$n: FORTIFY (Debug build: off on purpose)"
  else
    local chk
    chk=$(grep -E '^__[a-z0-9_]+_chk$' <<<"$imp" | grep -v __stack_chk_fail |
      tr '\n' ' ')
    if [ -n "$chk" ]; then
      ok "$n: FORTIFY: imports $chk"
    else
      bad "$n: no __*_chk function imported: -D_FORTIFY_SOURCE did not" \
          "take effect (needs optimisation, -O1 or more)"
    fi
  fi
}

for f in "$exe" "$lib"; do
  [ -f "$f" ] || { bad "$f: not found"; continue; }
  check_common "$f"
done

# PIE: the executable is ET_DYN and marked PIE (a shared library is DYN
# too, so the flag is what tells them apart)
if [ -f "$exe" ]; then
  n=$(basename "$exe")
  if readelf -hW "$exe" | grep -qE 'Type:[[:space:]]+DYN' &&
     readelf -dW "$exe" | grep -qE '\(FLAGS_1\).*\bPIE\b'; then
    ok "$n: position-independent executable (ASLR for the program too)"
  else
    bad "$n: not a PIE: $(readelf -hW "$exe" | grep 'Type:' | sed 's/^ *//')"
  fi
fi

echo "$oks passed, $fails failed, $skips skipped"
[ $fails -eq 0 ]
