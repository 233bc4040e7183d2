#!/bin/bash
# shmkit keys against a hostile store and a curious debugger: a store whose
# header a peer rewrote (record sizes of the same slot stride, the secure
# flag cleared) is refused as corrupt, never read past its buffers; the
# command is not dumpable, so neither a core dump nor a ptrace of the same
# user gets at key bytes; raw input is stored byte for byte (a trailing
# newline too, as put --help says); --capacity names its real range.
set -eu
. "$(dirname "$0")/lib/common.sh"

name="sk-cli-$$-khard"
addr="posix:/$name"
own_posix "/$name"
k() { "$SHMKIT" keys -a "$addr" "$@"; }
# poke OFFSET HEXBYTES: write bytes into the store's segment.
poke() {
	printf "$2" | dd of="/dev/shm/$name" bs=1 seek="$1" conv=notrunc \
		status=none
}
# A crash (signal, sanitizer report) is a failure whatever the status.
no_crash() {
	[ "$rc" -lt 128 ] || fail "$1 died (status $rc): $err"
	case $err in *Sanitizer* | *runtime\ error*) fail "$1: $err" ;; esac
}

k init --capacity 4 >/dev/null
printf k | k put a b --key-id 1
cp "/dev/shm/$name" "$tmp/good"

# Key and value sizes 32 and 168 (bytes 72-79): the same 384-byte stride.
poke 72 '\x20\x00\x00\x00\xa8\x00\x00\x00'
for c in ls "get a b" "get a b --reveal" "revoke a b" "del a b"; do
	# shellcheck disable=SC2086
	run k $c
	no_crash "$c of a store with rewritten sizes"
	expect_eq "$c of a store with rewritten sizes" "$rc" 1
	case $err in *corrupt*) ;; *) fail "$c: '$err' lacks 'corrupt'" ;; esac
done
run bash -c "printf k | '$SHMKIT' keys -a '$addr' put a b --key-id 2"
no_crash "put into a store with rewritten sizes"
expect_eq "put into a store with rewritten sizes" "$rc" 1

# The secure flag cleared (bytes 92-95): no store without mlock and
# zeroising.
cp "$tmp/good" "/dev/shm/$name"
poke 92 '\x00\x00\x00\x00'
run k get a b
expect_eq "get of a store made insecure" "$rc" 1
case $err in *corrupt*) ;; *) fail "insecure store: '$err' lacks 'corrupt'" ;; esac
cp "$tmp/good" "/dev/shm/$name"
run k get a b
expect_eq "control: the restored store" "$rc" 0

# Not dumpable from the start: its /proc files belong to root, not to
# the user it runs as (which needs a user other than root to see).
if [ "$(id -u)" = 0 ]; then
	as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	want_uid=65534
else
	as_user=()
	want_uid=$(id -u)
fi
mkfifo "$tmp/fifo"
exec 3<>"$tmp/fifo"
# put blocks reading its key from the pipe, before it opens any store.
"${as_user[@]}" "$SHMKIT" keys -a "$addr" put x y --key-id 1 <&3 &
pid=$!
on_exit "kill $pid"
owner=
for _ in $(seq 100); do
	if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = shmkit ]; then
		owner=$(stat -c %u "/proc/$pid/status")
		[ "$owner" = 0 ] && break
	fi
	sleep 0.05
done
kill "$pid"
wait "$pid" 2>/dev/null || true
exec 3>&-
expect_eq "owner of /proc/PID of keys put (0: not dumpable; $want_uid: dumpable)" \
	"$owner" 0

# Raw input is the key, byte for byte: echo's newline too.
echo secret | k put e s --key-id 3
run k get e s
case $out in *"key len:  7"*) ;; *) fail "echo secret | put: $out" ;; esac
k get e s --reveal --raw >"$tmp/raw"
printf 'secret\n' | cmp -s - "$tmp/raw" || fail "put did not keep the newline"
printf secret | k put e s --key-id 3
run k get e s
case $out in *"key len:  6"*) ;; *) fail "printf secret | put: $out" ;; esac
run k put --help
case $out in *newline*) ;; *) fail "put --help does not warn of the newline" ;; esac

# --capacity says the range it takes, which starts at 1.
for c in 0 16777217 x; do
	run "$SHMKIT" keys -a "posix:/$name-c" init --capacity "$c"
	expect_eq "init --capacity $c" "$rc" 2
	case $err in *"from 1 to 16777216"*) ;; *) fail "--capacity $c: $err" ;; esac
done
[ ! -e "/dev/shm/$name-c" ] || fail "a refused init made a store"

"$SHMKIT" rm "$addr"
echo "keys hardening ok"
