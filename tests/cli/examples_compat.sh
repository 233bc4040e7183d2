#!/bin/bash
# examples_compat.sh: compat_classic, built only against the classic
# wrapper headers, runs the classic key store flow on a System V key of
# its own: every step gives the classic code, the segment is gone from
# `ipcs -m` afterwards, and a second run works the same.
set -eu

ex=$SHMKIT_BUILD_DIR/examples
if [ ! -x "$ex/compat_classic" ]; then
	echo "examples not built (SHMKIT_BUILD_EXAMPLES=OFF)"
	exit 77
fi
if [ ! -r /proc/sysvipc/shm ]; then
	echo "no System V shared memory here"
	exit 77
fi
. "$(dirname "$0")/lib/common.sh"

# The example includes nothing of shmkit but the two compat headers.
src=$SHMKIT_SOURCE_DIR/examples/compat_classic.c
incs=$(grep '^#include <' "$src" | grep -v -e '<stdio.h>' -e '<stdlib.h>' -e '<string.h>')
expect_eq "includes" "$incs" "#include <shmkit/compat/keymng_shmop.h>
#include <shmkit/compat/myipc_shm.h>"

key=$(key_for 1)
own_key "$key"
seg_line() { awk -v k=$((key)) 'NR > 1 && $1 == k' /proc/sysvipc/shm; }
[ -z "$(seg_line)" ] || fail "$key exists before the test"

for round in 1 2; do
	run "$ex/compat_classic" "$key"
	expect_eq "round $round exit" "$rc" 0
	printf '%s\n' "$out" >"$tmp/out"
	grep -q '^KeyMng_ShmWrite (store full) *102$' "$tmp/out" || fail "no full code: $out"
	grep -q '^KeyMng_ShmRead (no such client) *102$' "$tmp/out" || fail "no not-found code: $out"
	grep -q '^  client2/server1: key id 22$' "$tmp/out" || fail "overwrite not read back: $out"
	grep -q '^IPC_OpenShm (after delete) *302$' "$tmp/out" || fail "not deleted: $out"
	grep -q 'UNEXPECTED' "$tmp/out" && fail "round $round: $out"
	[ -z "$(seg_line)" ] || fail "round $round left $key in /proc/sysvipc/shm"
done
if ipcs -m | grep -qi "^$key "; then
	fail "$key left in ipcs -m"
fi
echo "ok"
