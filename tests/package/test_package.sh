#!/usr/bin/env bash
# test_package.sh BUILD_DIR HERE CPACK VERSION - the Debian package made
# from BUILD_DIR, checked as a packager and a user meet it:
#   - cpack -G DEB (into a temporary folder) makes msfaq_VERSION_ARCH.deb,
#     whose control file names the libraries the programs link;
#   - lintian: an error fails the test, warnings are printed;
#   - dpkg -i; dpkg -L lists the libraries and their SONAME links, the
#     headers, .pc files, CMake package files, programs, manual pages,
#     systemd unit and documentation; the installed programs run;
#   - a host built with pkg-config and one built by a CMake project with
#     find_package(msfaq) run against the installed libraries;
#   - man msfaq renders;
#   - dpkg -P msfaq, whatever happened before, and nothing is left.
# Skipped (77) when not root or without dpkg.  It refuses to start when an
# msfaq package or any of its files is on the system already: it would
# replace them, and could not put them back.
# Environment: CC (default cc), MSFAQ_HOST_FLAGS (sanitizer builds).
set -u
build=$1 here=$2 cpack=$3 version=$4
cc=${CC:-cc}
host_flags=${MSFAQ_HOST_FLAGS:-}
cmake=$(dirname "$cpack")/cmake
[ -x "$cmake" ] || cmake=cmake

if [ "$(id -u)" != 0 ]; then
  echo "SKIP: not root (dpkg -i needs root)"
  exit 77
fi
if ! command -v dpkg >/dev/null || ! command -v dpkg-deb >/dev/null; then
  echo "SKIP: no dpkg (not a Debian system)"
  exit 77
fi
missing=""
for tool in lintian dpkg-shlibdeps pkg-config man objdump "$cc"; do
  command -v "$tool" >/dev/null || missing="$missing $tool"
done
if [ -n "$missing" ]; then
  echo "FAIL: not installed:$missing (apt install lintian dpkg-dev" \
       "pkg-config man-db binutils; see scripts/deps-apt.txt)"
  exit 1
fi

passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok: $*"; }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }
check() {  # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@"; then ok "$what"; else bad "$what"; fi
}

# One run at a time on this machine (several build trees may test at
# once): a lock on dpkg's folder, which dpkg itself never flock()s, so
# that no lock file is left behind.
exec 9</var/lib/dpkg
flock -w 900 9 || { echo "FAIL: another package test holds the lock"; exit 1; }

status=$(dpkg-query -W -f='${db:Status-Status}' msfaq 2>/dev/null)
if [ -n "$status" ] && [ "$status" != not-installed ]; then
  echo "FAIL: a msfaq package is on this system already (status" \
       "'$status'); this test would replace it.  Remove it first:" \
       "dpkg -P msfaq"
  exit 1
fi

tmp=$(mktemp -d /tmp/msfaq-package.XXXXXX)
installed=0
files=""   # the package's files, for the check after dpkg -P
finish() {
  local rc=$?
  if [ $installed = 1 ]; then
    if dpkg -P msfaq >"$tmp/purge.log" 2>&1; then
      ok "dpkg -P msfaq"
    else
      bad "dpkg -P msfaq:"; cat "$tmp/purge.log"
    fi
    status=$(dpkg-query -W -f='${db:Status-Status}' msfaq 2>/dev/null)
    if [ -n "$status" ] && [ "$status" != not-installed ]; then
      bad "msfaq is still on the system after dpkg -P (status '$status')"
    fi
    local left="" f
    for f in $files; do
      if [ -e "$f" ] || [ -L "$f" ]; then left="$left $f"; fi
    done
    if [ -n "$left" ]; then
      bad "left behind after dpkg -P:$left"
    else
      ok "nothing of the package left after dpkg -P"
    fi
    if ldconfig -p | grep -q 'libmsfaq'; then
      bad "the ldconfig cache still lists libmsfaq after dpkg -P"
    fi
  fi
  rm -rf "$tmp"
  echo "$passed passed, $failed failed"
  if [ $rc -ne 0 ] || [ $failed -ne 0 ]; then exit 1; fi
  exit 0
}
trap finish EXIT
trap 'exit 1' INT TERM HUP

# ---------------------------------------------------------------- cpack
if ! (cd "$build" && "$cpack" -G DEB -B "$tmp/pkg" \
        --config "$build/CPackConfig.cmake") >"$tmp/cpack.log" 2>&1; then
  bad "cpack -G DEB in $build:"; cat "$tmp/cpack.log"
  exit 1
fi
arch=$(dpkg --print-architecture)
deb=$tmp/pkg/msfaq_${version}_${arch}.deb
if [ ! -f "$deb" ]; then
  bad "cpack made no $(basename "$deb"):"; ls "$tmp/pkg"
  exit 1
fi
ok "cpack -G DEB made $(basename "$deb")"

field() { dpkg-deb -f "$deb" "$1"; }
check "Package: msfaq, Version: $version" \
  test "$(field Package) $(field Version)" = "msfaq $version"
check "Architecture: $arch" test "$(field Architecture)" = "$arch"
for f in Maintainer Section Priority Description; do
  check "control has $f ($(field "$f" | head -n 1))" test -n "$(field "$f")"
done
depends=$(field Depends)
echo "   Depends: $depends"
# Debian 12's names; later releases add t64 to some (the 64-bit time_t
# transition), and dpkg-shlibdeps names whichever this system has.
for p in libc6 libpcre2-8-0 libjansson4 libstemmer0d libcurl4 \
         libmicrohttpd12 libedit2; do
  check "Depends names $p" grep -qE "(^|, )$p(t64)?( |,|$)" <<<"$depends"
done
check "the package has a shlibs file and an ldconfig trigger" \
  bash -c "dpkg-deb --ctrl-tarfile '$deb' | tar -tf - |
           grep -q shlibs && dpkg-deb -I '$deb' triggers |
           grep -q 'activate-noawait ldconfig'"
check "the changelog's first entry is msfaq ($version)" \
  bash -c "dpkg-deb --fsys-tarfile '$deb' |
           tar -xOf - ./usr/share/doc/msfaq/changelog.gz | gzip -dc |
           head -n 1 | grep -q '^msfaq ($version) '"

# -------------------------------------------------------------- lintian
# Warnings are shown, errors fail.  Known warnings: one package holds
# libraries, headers and programs (package-name-doesnt-match-sonames,
# link-to-shared-library-in-wrong-package); CPack's postinst/postrm call
# ldconfig besides the trigger; a tree configured with a prefix other
# than /usr has no multiarch lib folder.
lintian --fail-on error --display-info --tag-display-limit 0 "$deb" \
  >"$tmp/lintian.log" 2>&1
lintian_rc=$?
grep -v 'running with root privileges' "$tmp/lintian.log" | sed 's/^/   /'
echo "   lintian: $(grep -c '^E:' "$tmp/lintian.log") errors," \
     "$(grep -c '^W:' "$tmp/lintian.log") warnings," \
     "$(grep -c '^I:' "$tmp/lintian.log") info"
check "lintian finds no error" test $lintian_rc -eq 0

# -------------------------------------------------------------- install
# Files the package would overwrite were not put there by a package of
# ours: refuse rather than change them.
dpkg-deb --fsys-tarfile "$deb" | tar -tf - | sed -n 's|^\./|/|p' |
  grep -v '/$' >"$tmp/files"
clash=""
while read -r f; do
  if [ -e "$f" ] || [ -L "$f" ]; then clash="$clash $f"; fi
done <"$tmp/files"
if [ -n "$clash" ]; then
  bad "these files exist already and dpkg -i would replace them:$clash"
  exit 1
fi
files=$(cat "$tmp/files")

installed=1
if ! dpkg -i "$deb" >"$tmp/dpkg.log" 2>&1; then
  bad "dpkg -i $(basename "$deb"):"; cat "$tmp/dpkg.log"
  exit 1
fi
ok "dpkg -i $(basename "$deb")"

list=$(dpkg -L msfaq)
libdir='/usr/lib(/[a-z0-9_]+-linux-[a-z0-9_]+)?'
lists() {  # lists REGEX: dpkg -L has a line matching ^REGEX$
  grep -qxE "$1" <<<"$list"
}
for re in \
    "$libdir/libmsfaq\.so\.$version" "$libdir/libmsfaq\.so\.1" \
    "$libdir/libmsfaq\.so" \
    "$libdir/libmsfaq-post\.so\.1\.[0-9]+\.[0-9]+" \
    "$libdir/libmsfaq-post\.so\.1" "$libdir/libmsfaq-post\.so" \
    /usr/include/msfaq\.h /usr/include/msfaq_post\.h \
    "$libdir/pkgconfig/msfaq\.pc" "$libdir/pkgconfig/msfaq-post\.pc" \
    "$libdir/cmake/msfaq/msfaqConfig\.cmake" \
    "$libdir/cmake/msfaq/msfaqConfigVersion\.cmake" \
    "$libdir/cmake/msfaq/msfaqTargets\.cmake" \
    /usr/bin/msfaq /usr/bin/msfaq-repl /usr/bin/msfaq-serve /usr/bin/msfaq-post \
    /usr/bin/msfaq-matrix-bot /usr/bin/msfaq-matrix-registration \
    /usr/share/man/man1/msfaq\.1\.gz /usr/share/man/man1/msfaq-repl\.1\.gz \
    /usr/share/man/man1/msfaq-serve\.1\.gz \
    /usr/share/man/man1/msfaq-post\.1\.gz \
    /usr/share/man/man1/msfaq-matrix-bot\.1\.gz \
    /usr/share/man/man1/msfaq-matrix-registration\.1\.gz \
    /usr/lib/systemd/system/msfaq-serve\.service \
    /usr/share/doc/msfaq/copyright /usr/share/doc/msfaq/changelog\.gz \
    /usr/share/doc/msfaq/README\.md /usr/share/doc/msfaq/docs/serve\.md; do
  check "dpkg -L: ${re//\\/}" lists "$re"
done

# the SONAME links: NAME.so -> NAME.so.1 -> the file, whose SONAME is
# NAME.so.1
for lib in libmsfaq libmsfaq-post; do
  so1=$(grep -xE "$libdir/$lib\.so\.1" <<<"$list")
  real=$(grep -xE "$libdir/$lib\.so\.1\.[0-9]+\.[0-9]+" <<<"$list")
  check "$so1 -> $(basename "$real")" \
    test -L "$so1" -a "$(readlink "$so1")" = "$(basename "$real")"
  check "$lib.so -> $lib.so.1" \
    test -L "${so1%.1}" -a "$(readlink "${so1%.1}")" = "$lib.so.1"
  check "SONAME of $(basename "$real") is $lib.so.1" \
    bash -c "objdump -p '$real' | grep -qE 'SONAME +$lib\.so\.1\$'"
done
check "the ldconfig trigger ran: ldconfig -p lists libmsfaq.so.1" \
  bash -c "ldconfig -p | grep -q 'libmsfaq\.so\.1 '"
check "the unit's ExecStart is /usr/bin/msfaq-serve" \
  grep -qx 'ExecStart=/usr/bin/msfaq-serve .*' \
  /usr/lib/systemd/system/msfaq-serve.service

# ------------------------------------------------- the installed programs
# From a folder with no knowledge base and no build in sight.
cd "$tmp"
run() { env -u LD_LIBRARY_PATH "$@"; }
out=$(run /usr/bin/msfaq ask --json "What is CAR T-cell therapy?" 2>&1)
check "msfaq ask answers from the built-in KB" \
  grep -q '"section":"Emerging Therapies and Approaches"' <<<"$out"
out=$(run /usr/bin/msfaq post --to json --dry-run "What is CAR T?" 2>&1)
check "msfaq post runs /usr/bin/msfaq-post" \
  grep -q '"question":"What is CAR T?"' <<<"$out"
for p in msfaq-serve msfaq-matrix-bot msfaq-matrix-registration; do
  out=$(run "/usr/bin/$p" --version 2>&1)
  check "$p --version: $out" grep -q "^$p " <<<"$out"
done

# ---------------------------------------------------------------- hosts
# Against what the package installed only: no PKG_CONFIG_PATH, no
# CMAKE_PREFIX_PATH, no LD_LIBRARY_PATH.
cp -r "$here/host" "$tmp/host"
cp "$here/../install/host.c" "$tmp/host/host.c"     # the one libmsfaq host
pc() { env -u PKG_CONFIG_PATH -u PKG_CONFIG_LIBDIR pkg-config "$@"; }
flags=$(pc --cflags --libs msfaq)
echo "   pkg-config --cflags --libs msfaq: $flags"
# shellcheck disable=SC2086   # the flags are words
if $cc $(pc --cflags msfaq) "$tmp/host/host.c" -o "$tmp/host-pc" \
     $(pc --libs msfaq) $host_flags; then
  out=$(run "$tmp/host-pc" "What is CAR T?")
  check "pkg-config host answers: $out" \
    test "$out" = "answer|Emerging Therapies and Approaches"
  check "pkg-config host uses the installed libmsfaq.so.1" \
    bash -c "ldd '$tmp/host-pc' | grep -qE 'libmsfaq\.so\.1 => (/usr)?${libdir#/usr}/'"
else
  bad "cc with pkg-config --cflags --libs msfaq"
fi
# shellcheck disable=SC2086
if $cc $(pc --cflags msfaq-post) "$tmp/host/post_host.c" \
     -o "$tmp/post-host-pc" $(pc --libs msfaq-post) $host_flags; then
  out=$(run "$tmp/post-host-pc"); rc=$?
  check "pkg-config msfaq-post host runs: libmsfaq-post $out" test $rc -eq 0
else
  bad "cc with pkg-config --cflags --libs msfaq-post"
fi

if "$cmake" -S "$tmp/host" -B "$tmp/host-build" -DCMAKE_C_COMPILER="$cc" \
     -DCMAKE_C_FLAGS="$host_flags" >"$tmp/host.log" 2>&1 &&
   "$cmake" --build "$tmp/host-build" >>"$tmp/host.log" 2>&1; then
  dir=$(sed -n 's/^msfaq_DIR:PATH=//p' "$tmp/host-build/CMakeCache.txt")
  check "find_package(msfaq) found $dir" grep -qxE "$libdir/cmake/msfaq" \
    <<<"$dir"
  out=$(run "$tmp/host-build/host" "should I stop my DMT")
  check "find_package host (msfaq::msfaq) answers: $out" \
    test "$out" = "safety|-"
  out=$(run "$tmp/host-build/post_host"); rc=$?
  check "find_package host (msfaq::msfaq_post) runs: libmsfaq-post $out" \
    test $rc -eq 0
else
  bad "CMake project with find_package(msfaq REQUIRED):"
  cat "$tmp/host.log"
fi

# ------------------------------------------------------------------ man
check "man -w msfaq: $(man -w msfaq 2>&1)" \
  test "$(man -w msfaq 2>&1)" = /usr/share/man/man1/msfaq.1.gz
for p in msfaq-serve msfaq-post msfaq-matrix-bot msfaq-matrix-registration
do
  check "man -w $p" test "$(man -w "$p" 2>&1)" = \
    "/usr/share/man/man1/$p.1.gz"
done
out=$(MANPAGER=cat MANWIDTH=80 LC_ALL=C.UTF-8 man msfaq 2>&1)
check "man msfaq renders (NAME, OPTIONS, EXIT STATUS)" \
  bash -c 'grep -q "^NAME" <<<"$1" && grep -q "^OPTIONS" <<<"$1" &&
           grep -q "^EXIT STATUS" <<<"$1" &&
           grep -q "msfaq - answer questions" <<<"$1"' _ "$out"
