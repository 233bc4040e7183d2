#!/bin/bash
# examples_sysv_hello.sh: runs the System V "hello, world" example pair as
# separate processes, both ways the README shows: writer --leave then
# reader --remove, and a writer that waits for the reader and removes the
# segment itself. Checks the exact output, the segment's mode (0600) and
# that nothing is left in `ipcs -m`.
set -eu

ex=$SHMKIT_BUILD_DIR/examples
if [ ! -x "$ex/sysv_hello_writer" ] || [ ! -x "$ex/sysv_hello_reader" ]; then
	echo "examples not built (SHMKIT_BUILD_EXAMPLES=OFF)"
	exit 77
fi
if [ ! -r /proc/sysvipc/shm ] || ! command -v ipcs >/dev/null; then
	echo "no System V shared memory here"
	exit 77
fi

# A key of our own: a fixed prefix and our pid, so parallel runs differ.
key=$(printf '0x%08x' $((0x5e000000 + $$)))
addr=sysv:$key
tmp=$(mktemp -d)
writer_pid=

cleanup() {
	if [ -n "$writer_pid" ]; then
		kill "$writer_pid" 2>/dev/null || true
		wait "$writer_pid" 2>/dev/null || true
	fi
	ipcrm -M "$key" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# The segment's line in /proc/sysvipc/shm (key in decimal there).
seg_line() {
	awk -v k=$((key)) 'NR > 1 && $1 == k' /proc/sysvipc/shm
}

expect() { # expect FILE, expected text on stdin
	diff -u - "$1" || fail "unexpected output in $(basename "$1")"
}

[ -z "$(seg_line)" ] || fail "$addr exists before the test"

# 1. The writer leaves the segment; the reader runs later, twice.
"$ex/sysv_hello_writer" --leave "$addr" >"$tmp/w1"
expect "$tmp/w1" <<OUT
wrote "hello, world" to $addr
left $addr for the reader
OUT
[ -n "$(seg_line)" ] || fail "writer --leave did not leave $addr"
mode=$(seg_line | awk '{ print $3 }')
[ "$mode" = 600 ] || fail "segment mode is $mode, want 600"

"$ex/sysv_hello_reader" "$addr" >"$tmp/r1"
echo "hello, world" | expect "$tmp/r1"
[ -n "$(seg_line)" ] || fail "reader without --remove removed $addr"

# 2. A second writer on the same key must refuse, not overwrite.
if "$ex/sysv_hello_writer" --leave "$addr" >"$tmp/w2" 2>"$tmp/e2"; then
	fail "second writer on $addr succeeded"
fi
grep -q "cannot create $addr: File exists" "$tmp/e2" ||
	fail "second writer: $(cat "$tmp/e2")"

"$ex/sysv_hello_reader" --remove "$addr" >"$tmp/r2"
echo "hello, world" | expect "$tmp/r2"
[ -z "$(seg_line)" ] || fail "reader --remove left $addr"

# 3. Nothing there: the reader says why and fails.
if "$ex/sysv_hello_reader" "$addr" >"$tmp/r3" 2>"$tmp/e3"; then
	fail "reader of a missing segment succeeded"
fi
grep -q "cannot open $addr: No such file or directory" "$tmp/e3" ||
	fail "reader of a missing segment: $(cat "$tmp/e3")"

# 4. The classic order: the writer waits for the reader, then removes.
"$ex/sysv_hello_writer" "$addr" >"$tmp/w4" 2>&1 &
writer_pid=$!
for _ in $(seq 100); do
	[ -n "$(seg_line)" ] && break
	sleep 0.1
done
[ -n "$(seg_line)" ] || fail "waiting writer did not create $addr"
"$ex/sysv_hello_reader" "$addr" >"$tmp/r4"
echo "hello, world" | expect "$tmp/r4"
rc=0
wait "$writer_pid" || rc=$?
writer_pid=
[ "$rc" -eq 0 ] || fail "waiting writer exited $rc: $(cat "$tmp/w4")"
expect "$tmp/w4" <<OUT
wrote "hello, world" to $addr
reader done, removing $addr
OUT

# Nothing left behind, as ipcs sees it.
[ -z "$(seg_line)" ] || fail "$addr left in /proc/sysvipc/shm"
if ipcs -m | grep -qi "^$key "; then
	fail "$addr left in ipcs -m"
fi
echo "ok"
