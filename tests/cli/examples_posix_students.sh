#!/bin/bash
# examples_posix_students.sh: runs posix_student_writer, then
# posix_student_reader as a separate process, on a POSIX object of our
# own. Checks the exact output, the object's mode (0600), that it
# outlives the writer, and that reader --remove leaves /dev/shm clean.
set -eu

ex=$SHMKIT_BUILD_DIR/examples
if [ ! -x "$ex/posix_student_writer" ] ||
	[ ! -x "$ex/posix_student_reader" ]; then
	echo "examples not built (SHMKIT_BUILD_EXAMPLES=OFF)"
	exit 77
fi
if [ ! -d /dev/shm ]; then
	echo "no /dev/shm here"
	exit 77
fi

name=shmkit-ex-student-$$
addr=posix:/$name
tmp=$(mktemp -d)

cleanup() {
	rm -f "/dev/shm/$name"
	rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

expect() { # expect FILE, expected text on stdin
	diff -u - "$1" || fail "unexpected output in $(basename "$1")"
}

[ ! -e "/dev/shm/$name" ] || fail "/dev/shm/$name exists before the test"

# Reading before anyone wrote fails with the reason.
if "$ex/posix_student_reader" "$addr" >"$tmp/r0" 2>"$tmp/e0"; then
	fail "reader of a missing object succeeded"
fi
grep -q "cannot open $addr: No such file or directory" "$tmp/e0" ||
	fail "reader of a missing object: $(cat "$tmp/e0")"

"$ex/posix_student_writer" "$addr" >"$tmp/w1"
expect "$tmp/w1" <<OUT
wrote student 1001 to $addr
OUT
# The writer has exited; the object is still there, private to us.
[ -f "/dev/shm/$name" ] || fail "the object did not outlive the writer"
mode=$(stat -c %a "/dev/shm/$name")
[ "$mode" = 600 ] || fail "object mode is $mode, want 600"

# A second writer refuses to overwrite it.
if "$ex/posix_student_writer" "$addr" >"$tmp/w2" 2>"$tmp/e2"; then
	fail "second writer on $addr succeeded"
fi
grep -q "cannot create $addr: File exists" "$tmp/e2" ||
	fail "second writer: $(cat "$tmp/e2")"

expected="id 1001: Ada Lovelace, age 36, score 97.5"
"$ex/posix_student_reader" "$addr" >"$tmp/r1"
echo "$expected" | expect "$tmp/r1"
[ -f "/dev/shm/$name" ] || fail "reader without --remove removed it"

"$ex/posix_student_reader" --remove "$addr" >"$tmp/r2"
echo "$expected" | expect "$tmp/r2"
[ ! -e "/dev/shm/$name" ] || fail "reader --remove left /dev/shm/$name"
echo "ok"
