#!/bin/bash
# shmkit --version and -V print exactly "shmkit VERSION" and exit 0; the
# version is the project's, as CMakeLists.txt declares it.
set -u
cli=${SHMKIT_CLI:?SHMKIT_CLI must name the shmkit binary}
src=${SHMKIT_SOURCE_DIR:?SHMKIT_SOURCE_DIR must name the source tree}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0

version=$(sed -n 's/^project(shmkit VERSION \([0-9.]*\).*/\1/p' \
	"$src/CMakeLists.txt")
if [ -z "$version" ]; then
	echo "FAIL: no project version in $src/CMakeLists.txt"
	exit 1
fi
echo "shmkit $version" >"$tmp/want"
: >"$tmp/empty"

for opt in --version -V; do
	"$cli" "$opt" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "FAIL: shmkit $opt: exit $rc, expected 0"
		fail=1
	fi
	if ! diff -u "$tmp/want" "$tmp/out"; then
		echo "FAIL: shmkit $opt: stdout differs (above)"
		fail=1
	fi
	if ! diff -u "$tmp/empty" "$tmp/err"; then
		echo "FAIL: shmkit $opt: wrote to stderr (above)"
		fail=1
	fi
done

[ "$fail" -eq 0 ] && echo "ok: version $version"
exit "$fail"
