#!/bin/bash
# Misuse exits 2, prints nothing on stdout, and on stderr says what was
# wrong followed by the "Try" line, exactly.
set -u
cli=${SHMKIT_CLI:?SHMKIT_CLI must name the shmkit binary}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0
: >"$tmp/empty"

# expect STDERR-TEXT ARGS...: exit 2, empty stdout, stderr exactly the text
expect() {
	local want=$1
	shift
	printf '%s\n' "$want" >"$tmp/want"
	"$cli" "$@" >"$tmp/out" 2>"$tmp/err"
	local rc=$?
	if [ "$rc" -ne 2 ]; then
		echo "FAIL: shmkit $*: exit $rc, expected 2"
		fail=1
	fi
	if ! diff -u "$tmp/empty" "$tmp/out"; then
		echo "FAIL: shmkit $*: wrote to stdout (above)"
		fail=1
	fi
	if ! diff -u "$tmp/want" "$tmp/err"; then
		echo "FAIL: shmkit $*: stderr differs (above)"
		fail=1
	fi
}

try="Try 'shmkit --help' for more information."
trydemo="Try 'shmkit demo --help' for more information."

expect "shmkit: no command given
$try"
expect "shmkit: unrecognized option '--bogus'
$try" --bogus
expect "shmkit: invalid option -- 'x'
$try" -x
expect "shmkit: unrecognized option '--help=x'
$try" --help=x
expect "shmkit: unknown command 'x'
$try" x
expect "shmkit: unknown command 'help'
$try" help
expect "shmkit: unknown command 'x'
$try" x --help
expect "shmkit demo: unrecognized option '--bogus'
$trydemo" demo --bogus
expect "shmkit demo: invalid option -- 'q'
$trydemo" demo -q
expect "shmkit demo: unknown section 'nosuch'
$trydemo" demo nosuch
expect "shmkit demo: option '--timeout' requires an argument
$trydemo" demo --timeout
expect "shmkit demo: option '-t' requires an argument
$trydemo" demo -t
expect "shmkit demo: --timeout: 'soon' is not a number from 0 to 3600000
$trydemo" demo --timeout soon
expect "shmkit demo: --peer-delay: '-1' is not a number from 0 to 3600000
$trydemo" demo --peer-delay=-1

expect "shmkit demo-peer: expected ADDRESS or --socket FD
Try 'shmkit demo-peer --help' for more information." demo-peer

[ "$fail" -eq 0 ] && echo "ok: usage"
exit "$fail"
