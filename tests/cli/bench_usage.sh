#!/bin/bash
# "shmkit bench" usage: bad options exit 2 with a message, --help and
# --list exit 0, and a run interrupted by SIGINT removes what it made.
set -u
cli=${SHMKIT_CLI:?}
tmp=$(mktemp -d)
# Temporary files of this run (gnuplot data, file segments) stay here.
export TMPDIR="$tmp"
trap 'rm -rf "$tmp"' EXIT
fail=0

expect() { # expect STATUS PATTERN ARGS...
	local want=$1 pat=$2 rc=0
	shift 2
	"$cli" bench "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	if [ $rc -ne "$want" ]; then
		echo "FAIL: bench $* exited $rc, expected $want"; fail=1
	elif [ -n "$pat" ] && ! grep -q -- "$pat" "$tmp/out" "$tmp/err"; then
		echo "FAIL: bench $*: no '$pat' in the output"; cat "$tmp/err"
		fail=1
	fi
}

expect 2 "unrecognized option '--bogus'" --bogus
expect 2 "invalid option" -Z
expect 2 "requires an argument" --sizes
expect 2 "--sizes" --sizes abc
expect 2 "--sizes" --sizes 64,,128
expect 2 "--sizes" --sizes 0
expect 2 "--sizes" --sizes 128M
expect 2 "--iterations" --iterations x
expect 2 "--iterations" --iterations 0
expect 2 "--warmup" --warmup -1
expect 2 "--duration" --duration 0
expect 2 "--duration" --duration 5min
expect 2 "unknown mechanism 'nope'" --only pipe,nope
expect 2 "unknown mechanism" --only ''
expect 2 "exclude" --json --csv
expect 2 "unexpected argument" extra
expect 2 "--plot" --plot out.gif
expect 0 "Usage:" --help
expect 0 "shm-memfd" --list
expect 0 "chan-posix-block" --list

# Interrupted in the middle: nothing left behind, dies of SIGINT.
# What shmkit bench may create, by name: its System V keys (0x5b......),
# private message queues, /dev/shm and $TMPDIR entries named
# shmkit-bench-*. Only these, so that tests running in parallel do not
# disturb the comparison (the suite's leftovers check compares all).
state() {
	ipcs -m | awk 'NR > 3 && $1 ~ /^0x5b/ { print "shm", $1, $2 }'
	ipcs -q | awk 'NR > 3 && $1 == "0x00000000" { print "msg", $2, $3 }'
	ls -A /dev/shm | grep shmkit-bench || true
	ls -d "${TMPDIR:-/tmp}"/shmkit-bench-* 2>/dev/null || true
}
state >"$tmp/before"
for delay in 0.3 0.9; do
	"$cli" bench --only sysv-msg,shm-sysv,shm-posix,shm-file,fifo,posix-mq,chan-sysv,chan-file \
		--sizes 64,4K --duration 0.5 >/dev/null 2>"$tmp/err" &
	pid=$!
	sleep $delay
	kill -INT $pid
	rc=0
	wait $pid || rc=$?
	if [ $rc -ne 130 ]; then
		echo "FAIL: interrupted bench exited $rc, expected 130"; fail=1
	fi
	state >"$tmp/after"
	if ! diff -u "$tmp/before" "$tmp/after"; then
		echo "FAIL: interrupted bench left objects behind"; fail=1
	fi
done
[ $fail -eq 0 ] && echo "usage ok"
exit $fail
