#!/bin/bash
# examples_keys.sh: keys_server and keys_client as separate processes: the
# server stores three keys and revokes one; clients in other processes
# find the valid ones, are told of the revoked and missing ones, never
# see a key printed; the store is 0600 while it serves and gone once the
# server stops.
set -eu

ex=$SHMKIT_BUILD_DIR/examples
if [ ! -x "$ex/keys_server" ] || [ ! -x "$ex/keys_client" ]; then
	echo "examples not built (SHMKIT_BUILD_EXAMPLES=OFF)"
	exit 77
fi
. "$(dirname "$0")/lib/common.sh"

name=sk-cli-$$-kex
addr=posix:/$name
own_posix "/$name"
server=
stop_server() {
	if [ -n "$server" ]; then
		kill "$server" 2>/dev/null || true
		wait "$server" 2>/dev/null || true
	fi
}
on_exit stop_server

"$ex/keys_server" --timeout 30 "$addr" >"$tmp/server" 2>&1 &
server=$!
for _ in $(seq 100); do
	grep -q '^ready' "$tmp/server" && break
	kill -0 "$server" 2>/dev/null || break
	sleep 0.1
done
grep -q "^ready: $addr holds 3 keys\$" "$tmp/server" ||
	fail "server not ready: $(cat "$tmp/server")"
expect_eq "store mode" "$(stat -c %a "/dev/shm/$name")" 600

run "$ex/keys_client" client1 "$addr"
expect_eq "client1 exit" "$rc" 0
expect_eq "client1" "$out" "client1/server1: key 100, 32 bytes, valid"
run "$ex/keys_client" client2 "$addr"
expect_eq "client2" "$out" "client2/server1: key 101, 32 bytes, valid"
run "$ex/keys_client" client3 "$addr"
expect_eq "client3 exit" "$rc" 1
expect_eq "client3" "$out" "client3/server1: key 102 is revoked"
run "$ex/keys_client" client4 "$addr"
expect_eq "client4 exit" "$rc" 1
expect_eq "client4" "$out" "client4/server1: no key"
run "$ex/keys_client" "" "$addr"
expect_eq "empty client id" "$rc" 1
case $err in *"Invalid argument"*) ;; *) fail "empty id said: $err" ;; esac

# The command sees the same store, without key bytes.
if [ -n "${SHMKIT_CLI:-}" ] && [ -x "$SHMKIT_CLI" ]; then
	"$SHMKIT_CLI" keys -a "$addr" --no-mlock ls -r -n |
		awk '{ print $1, $2, $3, $4, $5 }' | sort >"$tmp/ls"
	printf '%s\n' "client1 server1 valid 100 32" "client2 server1 valid 101 32" \
		"client3 server1 revoked 102 32" >"$tmp/want"
	diff -u "$tmp/want" "$tmp/ls" || fail "shmkit keys ls of the example store"
fi

# A second server must not take over the store.
run "$ex/keys_server" --timeout 1 "$addr"
expect_eq "second server" "$rc" 1
case $err in *"cannot create $addr: File exists"*) ;; *) fail "second server said: $err" ;; esac

kill -TERM "$server"
rc=0
wait "$server" || rc=$?
server=
expect_eq "server exit" "$rc" 0
grep -q "^stopping, removing $addr\$" "$tmp/server" || fail "server: $(cat "$tmp/server")"
[ ! -e "/dev/shm/$name" ] || fail "server left $addr"
run "$ex/keys_client" client1 "$addr"
expect_eq "client after the server" "$rc" 1
echo "ok"
