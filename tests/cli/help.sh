#!/bin/bash
# shmkit --help and -h: usage on stdout, nothing on stderr, exit 0, and
# the demo command listed; "shmkit demo --help" likewise; the hidden
# demo-peer command is not listed.
set -u
cli=${SHMKIT_CLI:?SHMKIT_CLI must name the shmkit binary}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0

check() { # DESCRIPTION COMMAND...: exit 0, stdout non-empty, stderr empty
	local what=$1
	shift
	"$@" >"$tmp/out" 2>"$tmp/err"
	local rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "FAIL: $what: exit $rc, expected 0"
		fail=1
	fi
	if [ -s "$tmp/err" ]; then
		echo "FAIL: $what: wrote to stderr:"
		cat "$tmp/err"
		fail=1
	fi
	if [ ! -s "$tmp/out" ]; then
		echo "FAIL: $what: printed nothing"
		fail=1
	fi
}

expect_line() { # DESCRIPTION EXTENDED-REGEX: a line of the last stdout
	if ! grep -Eq -- "$2" "$tmp/out"; then
		echo "FAIL: $1: no line matching '$2' in:"
		cat "$tmp/out"
		fail=1
	fi
}

for opt in --help -h; do
	check "shmkit $opt" "$cli" "$opt"
	expect_line "shmkit $opt" '^Usage: shmkit \[OPTIONS\] COMMAND'
	expect_line "shmkit $opt" '^  demo  +[a-z]'
	expect_line "shmkit $opt" '^  -h, --help'
	expect_line "shmkit $opt" '^  -V, --version'
	if grep -q 'demo-peer' "$tmp/out"; then
		echo "FAIL: shmkit $opt lists the internal demo-peer command"
		fail=1
	fi
	cp "$tmp/out" "$tmp/help$opt"
done
if ! cmp -s "$tmp/help--help" "$tmp/help-h"; then
	echo "FAIL: --help and -h print different text"
	fail=1
fi

# --help wins wherever it is among the global options.
check "shmkit -h demo" "$cli" -h demo
if ! cmp -s "$tmp/out" "$tmp/help-h"; then
	echo "FAIL: shmkit -h demo is not the global help"
	fail=1
fi

for opt in --help -h; do
	check "shmkit demo $opt" "$cli" demo "$opt"
	expect_line "shmkit demo $opt" '^Usage: shmkit demo \[OPTIONS\] \[SECTION\]'
	for section in sysv posix file memfd lock chan keys bench; do
		expect_line "shmkit demo $opt" "^  $section  +[A-Za-z]"
	done
	expect_line "shmkit demo $opt" '^  -t, --timeout MS'
done

check "shmkit demo --list" "$cli" demo --list
printf '%s\n' sysv posix file memfd lock chan keys bench >"$tmp/want"
if ! diff -u "$tmp/want" "$tmp/out"; then
	echo "FAIL: shmkit demo --list"
	fail=1
fi

# Output that cannot be written is an error, not a silent success.
if [ -w /dev/full ]; then
	"$cli" --help >/dev/full 2>"$tmp/err"
	rc=$?
	want='^shmkit: cannot write to standard output: No space left on device$'
	if [ "$rc" -ne 1 ] || ! grep -q "$want" "$tmp/err"; then
		echo "FAIL: shmkit --help >/dev/full: exit $rc, stderr:"
		cat "$tmp/err"
		fail=1
	fi
fi

[ "$fail" -eq 0 ] && echo "ok: help"
exit "$fail"
