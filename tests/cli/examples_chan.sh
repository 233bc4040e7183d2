#!/bin/bash
# examples_chan.sh: the channel examples. chan_producer and chan_consumer
# run as two separate processes on a POSIX channel of our own, in both
# start orders and with a channel much smaller than the message count
# (so each waits for the other); the consumer checks every message and
# removes the channel. chan_broadcast shows late joiners and the lost
# count of an overwriting channel, with an exact expected output.
set -eu

ex=$SHMKIT_BUILD_DIR/examples
for p in chan_producer chan_consumer chan_broadcast; do
	if [ ! -x "$ex/$p" ]; then
		echo "examples not built (SHMKIT_BUILD_EXAMPLES=OFF)"
		exit 77
	fi
done
if [ ! -d /dev/shm ]; then
	echo "no /dev/shm here"
	exit 77
fi

name=shmkit-ex-chan-$$
bname=shmkit-ex-bcast-$$
addr=posix:/$name
tmp=$(mktemp -d)

cleanup() {
	rm -f "/dev/shm/$name" "/dev/shm/$bname"
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

# Every process gets a time limit: a lost wake-up fails, never hangs.
t() { timeout 20 "$@"; }

# 1. Producer first: it fills the 64 slots and waits for the consumer.
t "$ex/chan_producer" "$addr" 1000 >"$tmp/p1" &
ppid=$!
for _ in $(seq 100); do
	[ -e "/dev/shm/$name" ] && break
	sleep 0.05
done
[ -e "/dev/shm/$name" ] || fail "the producer did not create $addr"
mode=$(stat -c %a "/dev/shm/$name")
[ "$mode" = 600 ] || fail "channel mode is $mode, want 600"
t "$ex/chan_consumer" "$addr" >"$tmp/c1"
wait $ppid || fail "producer exited $?"
echo "producer: sent 1000 messages to $addr" | expect "$tmp/p1"
echo "consumer: received 1000 messages in order from $addr" |
	expect "$tmp/c1"
[ ! -e "/dev/shm/$name" ] || fail "the consumer did not remove $addr"

# 2. Consumer first: it waits for the channel to appear.
t "$ex/chan_consumer" "$addr" >"$tmp/c2" &
cpid=$!
sleep 0.2
t "$ex/chan_producer" "$addr" 5000 >"$tmp/p2"
wait $cpid || fail "consumer exited $?"
echo "consumer: received 5000 messages in order from $addr" |
	expect "$tmp/c2"
[ ! -e "/dev/shm/$name" ] || fail "the consumer did not remove $addr"

# 3. A second producer on an existing channel refuses it.
t "$ex/chan_producer" "$addr" 0 >/dev/null
if "$ex/chan_producer" "$addr" 1 >/dev/null 2>"$tmp/e3"; then
	fail "second producer on $addr succeeded"
fi
grep -q "cannot create $addr: File exists" "$tmp/e3" ||
	fail "second producer: $(cat "$tmp/e3")"
t "$ex/chan_consumer" "$addr" >"$tmp/c3"
echo "consumer: received 0 messages in order from $addr" | expect "$tmp/c3"

# 4. Broadcast: exact output, and nothing left behind.
t "$ex/chan_broadcast" "posix:/$bname" >"$tmp/b"
expect "$tmp/b" <<'OUT'
publisher: published 1 to 12
publisher: late subscriber joined
publisher: published 13 to 16 and the end mark
early subscriber: lost 9, read 10 to 16
late subscriber: lost 0, read 13 to 16
OUT
[ ! -e "/dev/shm/$bname" ] || fail "chan_broadcast left /dev/shm/$bname"
echo "ok"
