#!/bin/bash
# shmkit demo: every backend tells its story and the peer answers; the
# lock survives its killed holder with the counter right; the channel
# moves and verifies a million messages and a killed consumer is
# replaced; the key store is shown; the bench table ends it. The run
# leaves no segment, file or process behind, also when a peer does not
# answer in time, dies, or when the demo is killed with SIGTERM midway.
set -u
cli=${SHMKIT_CLI:?SHMKIT_CLI must name the shmkit binary}
build=${SHMKIT_BUILD_DIR:-}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0

# The file backend writes below $TMPDIR: use a directory of our own, so
# "nothing left behind" can be checked exactly.
export TMPDIR=$tmp/tmpdir
mkdir "$TMPDIR" || exit 1

# The demo names its objects after its pid: posix:/shmkit-demo-PID and
# posix:/shmkit-demo-SECTION-PID, file:$TMPDIR/shmkit-demo-PID, System V
# key 0xHH00PID (HH 53-5a), made by PID; its bench section makes
# shmkit-bench-PID-N objects (POSIX segments and message queues) and
# files in $TMPDIR. Other processes may create and remove segments while
# we run, so the state compared is what the demo could have made.
state() { # PID
	local pid=$1
	# /proc/sysvipc/shm: key shmid perms size cpid ...; keys in decimal.
	awk -v pid="$pid" 'NR > 1 {
		low = $1 % 16777216; high = ($1 - low) / 16777216
		if ($5 == pid || (low == pid % 16777216 && high >= 83 && high <= 90))
			print "sysv", $1, $2, $3, $4, $5
	}' /proc/sysvipc/shm
	find /dev/shm -mindepth 1 -maxdepth 1 \( -name "shmkit-demo-$pid" -o \
		-name "shmkit-demo-*-$pid" -o -name "shmkit-bench-$pid-*" \) \
		-printf 'posix %f\n'
	if [ -d /dev/mqueue ]; then
		find /dev/mqueue -mindepth 1 -maxdepth 1 \
			-name "shmkit-bench-$pid-*" -printf 'mqueue %f\n'
	fi
	find "$TMPDIR" -mindepth 1 -maxdepth 1 -printf 'file %f\n'
}

# ipcs -m and /dev/shm as a whole, to report (not judge) other changes.
snapshot() {
	ipcs -m | awk 'NR > 3 && NF { print $1, $2, $3, $4, $5 }' | sort
	find /dev/shm -mindepth 1 -maxdepth 1 -printf '%f\n' | sort
}

# Every peer the demo started must be gone.
check_peers() { # DESCRIPTION
	local p
	while read -r p; do
		if tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" |
			grep -q 'demo-peer'; then
			echo "FAIL: $1: peer $p is still running"
			kill -KILL "$p" 2>/dev/null
			fail=1
		fi
	done < <(sed -n 's/^Started peer \([0-9][0-9]*\):.*/\1/p' "$tmp/out")
}

check_clean() { # DESCRIPTION PID
	state "$2" >"$tmp/after"
	if [ -s "$tmp/after" ]; then
		echo "FAIL: $1: left behind:"
		cat "$tmp/after"
		fail=1
	fi
	check_peers "$1"
}

expect_out() { # DESCRIPTION EXTENDED-REGEX
	if ! grep -Eq -- "$2" "$tmp/out"; then
		echo "FAIL: $1: no line matching: $2"
		fail=1
	fi
}

expect_err() { # DESCRIPTION EXTENDED-REGEX
	if ! grep -Eq -- "$2" "$tmp/err"; then
		echo "FAIL: $1: stderr has no line matching: $2"
		fail=1
	fi
}

# "peer N read 'hello from PID' and answered 'hello back from N'." as an
# extended regular expression.
answered_re() { # PID
	printf '%s' "peer ([0-9]+) read 'hello from $1' and answered" \
		" 'hello back from \\1'\\.\$"
}

show() {
	echo "--- $what (pid $pid, exit $rc)"
	echo "--- stdout"
	cat "$tmp/out"
	echo "--- stderr"
	cat "$tmp/err"
	echo "---"
}

have_memfd=1
if [ -n "$build" ] && [ -f "$build/CMakeCache.txt" ] &&
	! grep -q '^SHMKIT_HAVE_MEMFD:INTERNAL=1$' "$build/CMakeCache.txt"; then
	have_memfd=0
	echo "note: libshmkit was built without memfd; expecting it skipped"
fi

# 1. The whole demo.
what="shmkit demo"
snapshot >"$tmp/before"
"$cli" demo >"$tmp/out" 2>"$tmp/err" &
pid=$!
wait "$pid"
rc=$?
show
if [ "$rc" -ne 0 ]; then
	echo "FAIL: $what: exit $rc, expected 0"
	fail=1
fi
if [ -s "$tmp/err" ]; then
	echo "FAIL: $what: wrote to stderr"
	fail=1
fi
answered=$(answered_re "$pid")
expect_out "$what" '^== System V shared memory'
expect_out "$what" "^sysv:0x5[3-9a]$(printf '%06x' $((pid % 16777216))): $answered"
expect_out "$what" "^Removed sysv:0x[0-9a-f]{8} while still attached: the kernel marked shmid [0-9]+ for destruction\$"
expect_out "$what" "^\\(ipcs -m shows key 0x00000000, status dest, 1 attached\\), and it is still readable: 'hello back from [0-9]+'\\.\$"
expect_out "$what" "^Opening sysv:0x[0-9a-f]{8} again fails: No such file or directory"
expect_out "$what" '^Detached: that was the last attachment, so the kernel freed it'
expect_out "$what" '^== POSIX shared memory'
expect_out "$what" "^posix:/shmkit-demo-$pid: $answered"
expect_out "$what" "^Removed posix:/shmkit-demo-$pid\\.\$"
expect_out "$what" '^== A file mapped with MAP_SHARED'
expect_out "$what" "^file:$TMPDIR/shmkit-demo-$pid: $answered"
expect_out "$what" "^Removed file:$TMPDIR/shmkit-demo-$pid\\.\$"
expect_out "$what" '^== memfd'
if [ "$have_memfd" -eq 1 ]; then
	expect_out "$what" '^Sent it the memfd.s fd over that unix socket'
	expect_out "$what" "^memfd:shmkit-demo-$pid: $answered"
	expect_out "$what" "^Closed memfd:shmkit-demo-$pid: "
else
	expect_out "$what" '^Skipped: this libshmkit was built without memfd'
fi
# The lock: the holder killed, EOWNERDEAD, the repair, the right count.
expect_out "$what" '^== A robust lock'
expect_out "$what" "^Created posix:/shmkit-demo-lock-$pid \\(4096 bytes, mode 0600\\)\$"
expect_out "$what" '^Both processes added 1 to the counter 1000 times'
expect_out "$what" '^Process [0-9]+ took the lock again, began one more addition, and was killed$'
expect_out "$what" '^with SIGKILL while holding it\.$'
expect_out "$what" '^The next locker was told the holder died \(EOWNERDEAD\)\.$'
expect_out "$what" '^The in-progress marker showed a half-done addition \(2000 to 2001\), so it$'
expect_out "$what" '^put back 2000, called shmkit_mutex_consistent and carried on\.$'
expect_out "$what" '^Locked it again as usual: the counter is 2000, as it should be:$'
expect_out "$what" "^Removed posix:/shmkit-demo-lock-$pid\\.\$"
# The channel: a million verified; a dead consumer replaced.
expect_out "$what" '^== A channel'
expect_out "$what" "^Created posix:/shmkit-demo-chan-$pid \\([0-9]+ bytes, mode 0600\\): a channel\$"
expect_out "$what" '^Peer [0-9]+ checked each message as it arrived: 1000000 messages verified, in order\.$'
expect_out "$what" '^That took [0-9]+\.[0-9]{3} s: [0-9]+\.[0-9]{2} million messages per second, [0-9]+ ns per message\.$'
expect_out "$what" '^Peer [0-9]+ read messages 0 to 39, took 40 without releasing it, and was killed$'
expect_out "$what" '^Peer [0-9]+ opened the channel in the dead one.s place and received 40 to 99:$'
expect_out "$what" "^Removed posix:/shmkit-demo-chan-$pid\\.\$"
# The key store: put, look up, list without key bytes, delete, remove.
expect_out "$what" '^== The key store'
expect_out "$what" "^Created posix:/shmkit-demo-keys-$pid \\([0-9]+ bytes, mode 0600\\): a key store\$"
expect_out "$what" '^A service opened the store read-only and looked up \(alice, kms-1\): key id 101,$'
expect_out "$what" '^  CLIENT +SERVER +STATUS +KEY-ID +KEY-LEN$'
expect_out "$what" '^  alice +kms-1 +valid +101 +32$'
expect_out "$what" '^  bob +kms-1 +revoked +102 +16$'
expect_out "$what" "^Deleted bob's record, its bytes zeroised in the segment: 1 record left\\.\$"
expect_out "$what" "^Removed posix:/shmkit-demo-keys-$pid\\.\$"
# The bench table, a row per mechanism and the sentence reading it.
expect_out "$what" '^== How fast is it'
expect_out "$what" '^  MECHANISM +ROUND TRIP +MESSAGES/S$'
for m in floor pipe unix-stream posix-mq shm-posix; do
	expect_out "$what" "^  $m +[0-9.]+ [num]?s +[0-9.]+( [kM])?\$"
done
expect_out "$what" '^Here a round trip through (shm|chan)-[a-z-]+ took [0-9.]+ [num]?s:$'
expect_out "$what" '^All done: every segment the demo made is removed\.$'
# Each segment gets 0600, whatever our umask.
expect_out "$what" "^Created posix:/shmkit-demo-$pid \\(4096 bytes, mode 0600\\)"
check_clean "$what" "$pid"
snapshot >"$tmp/after-all"
if ! diff -u "$tmp/before" "$tmp/after-all" >"$tmp/diff"; then
	echo "note: ipcs -m or /dev/shm changed meanwhile (other processes):"
	cat "$tmp/diff"
fi

# 2. One section only, and a peer too slow for the timeout: exit 1, the
# failure named, the segment removed all the same.
what="shmkit demo --timeout 100 --peer-delay 3000 posix"
"$cli" demo --timeout 100 --peer-delay 3000 posix >"$tmp/out" 2>"$tmp/err" &
pid=$!
wait "$pid"
rc=$?
show
if [ "$rc" -ne 1 ]; then
	echo "FAIL: $what: exit $rc, expected 1"
	fail=1
fi
if grep -q '^== System V' "$tmp/out"; then
	echo "FAIL: $what: ran a section it was not asked for"
	fail=1
fi
expect_err "$what" "^shmkit demo: posix:/shmkit-demo-$pid: no answer from peer [0-9]+ within 100 ms\$"
expect_out "$what" "^Removed posix:/shmkit-demo-$pid\\.\$"
check_clean "$what" "$pid"

# 3. SIGTERM while the peer is at work (here in the System V section,
# the first): the demo removes what it made and dies of SIGTERM.
what="shmkit demo, SIGTERM"
rm -f "$tmp/out" # the wait below must not see the last case's output
"$cli" demo --peer-delay 10000 >"$tmp/out" 2>"$tmp/err" &
pid=$!
for _ in $(seq 100); do
	grep -q '^Started peer' "$tmp/out" && break
	sleep 0.05
done
kill -TERM "$pid"
wait "$pid"
rc=$?
show
if [ "$rc" -ne 143 ]; then
	echo "FAIL: $what: exit $rc, expected 143 (killed by SIGTERM)"
	fail=1
fi
expect_out "$what" "^Removed sysv:0x[0-9a-f]{8}\\.\$"
expect_err "$what" '^shmkit demo: interrupted by signal 15 .*; removed what it had made$'
if grep -q '^== POSIX' "$tmp/out"; then
	echo "FAIL: $what: went on after the signal"
	fail=1
fi
check_clean "$what" "$pid"

# 4. A reader that goes away ("shmkit demo | head -n 1"): the demo dies of
# SIGPIPE at its next line, quietly, having removed its segment. The peer
# delay makes sure head has exited before that line is written. A FIFO
# stands for the pipe so that we learn the demo's pid.
what="shmkit demo | head -n 1"
mkfifo "$tmp/fifo" || exit 1
head -n 1 <"$tmp/fifo" >"$tmp/out" &
reader=$!
"$cli" demo --peer-delay 300 sysv >"$tmp/fifo" 2>"$tmp/err" &
pid=$!
wait "$pid"
rc=$?
wait "$reader"
show
if [ "$rc" -ne 141 ]; then
	echo "FAIL: $what: exit $rc, expected 141 (killed by SIGPIPE)"
	fail=1
fi
if [ -s "$tmp/err" ]; then
	echo "FAIL: $what: wrote to stderr"
	fail=1
fi
expect_out "$what" '^== System V shared memory'
check_clean "$what" "$pid"

# 5. Failures name the object and the reason: the peer, run by hand on
# a segment that does not exist.
what="shmkit demo-peer on a missing segment"
"$cli" demo-peer "posix:/shmkit-demo-missing-$$" >"$tmp/out" 2>"$tmp/err"
rc=$?
printf 'shmkit demo-peer: %s: no such segment\n' \
	"posix:/shmkit-demo-missing-$$" >"$tmp/want"
if [ "$rc" -ne 1 ] || [ -s "$tmp/out" ] ||
	! diff -u "$tmp/want" "$tmp/err"; then
	echo "FAIL: $what: exit $rc (expected 1), output above"
	show
	fail=1
fi

# 6. A section that fails does not stop the others: exit 1, and the
# message names the object and the reason.
what="shmkit demo file posix, TMPDIR missing"
TMPDIR=$tmp/missing "$cli" demo file posix >"$tmp/out" 2>"$tmp/err" &
pid=$!
wait "$pid"
rc=$?
show
printf 'shmkit demo: %s: No such file or directory\n%s\n' \
	"file:$tmp/missing/shmkit-demo-$pid" \
	'shmkit demo: 1 of 2 sections failed' >"$tmp/want"
if [ "$rc" -ne 1 ] || ! diff -u "$tmp/want" "$tmp/err"; then
	echo "FAIL: $what: exit $rc (expected 1), stderr differs (above)"
	fail=1
fi
answered=$(answered_re "$pid")
expect_out "$what" "^posix:/shmkit-demo-$pid: $answered"
check_clean "$what" "$pid"

# 7. Sections named on the command line run alone, in the table's order.
what="shmkit demo keys lock"
"$cli" demo keys lock >"$tmp/out" 2>"$tmp/err" &
pid=$!
wait "$pid"
rc=$?
show
if [ "$rc" -ne 0 ] || [ -s "$tmp/err" ]; then
	echo "FAIL: $what: exit $rc (expected 0), or stderr not empty"
	fail=1
fi
grep '^== ' "$tmp/out" | cut -c1-20 >"$tmp/heads"
printf '%s\n' '== A robust lock: it' '== The key store: ke' >"$tmp/want"
if ! diff -u "$tmp/want" "$tmp/heads"; then
	echo "FAIL: $what: ran other sections, or out of order"
	fail=1
fi
expect_out "$what" '^Locked it again as usual: the counter is 2000, as it should be:$'
check_clean "$what" "$pid"

# 8. Peers too slow for the timeout, in the lock and chan sections: exit
# 1, each failure named, the peers stopped, everything removed.
what="shmkit demo --timeout 200 --peer-delay 3000 lock chan"
"$cli" demo --timeout 200 --peer-delay 3000 lock chan >"$tmp/out" 2>"$tmp/err" &
pid=$!
wait "$pid"
rc=$?
show
if [ "$rc" -ne 1 ]; then
	echo "FAIL: $what: exit $rc, expected 1"
	fail=1
fi
expect_err "$what" "^shmkit demo: posix:/shmkit-demo-lock-$pid: peer [0-9]+ did not take the lock within 200 ms\$"
expect_err "$what" "^shmkit demo: posix:/shmkit-demo-chan-$pid: peer [0-9]+ did not open the channel within 200 ms\$"
expect_err "$what" '^shmkit demo: 2 of 2 sections failed$'
expect_out "$what" "^Removed posix:/shmkit-demo-lock-$pid\\.\$"
expect_out "$what" "^Removed posix:/shmkit-demo-chan-$pid\\.\$"
check_clean "$what" "$pid"

# 9. The chan peer dies before it opens the channel: the demo says so,
# removes the channel and fails.
what="shmkit demo chan, peer killed"
rm -f "$tmp/out"
"$cli" demo --peer-delay 10000 chan >"$tmp/out" 2>"$tmp/err" &
pid=$!
peer=
for _ in $(seq 100); do
	peer=$(sed -n 's/^Started peer \([0-9][0-9]*\):.*/\1/p' "$tmp/out" 2>/dev/null)
	[ -n "$peer" ] && break
	sleep 0.05
done
[ -n "$peer" ] && kill -KILL "$peer"
wait "$pid"
rc=$?
show
if [ -z "$peer" ] || [ "$rc" -ne 1 ]; then
	echo "FAIL: $what: peer '$peer', exit $rc (expected 1)"
	fail=1
fi
expect_err "$what" "^shmkit demo: posix:/shmkit-demo-chan-$pid: the peer was killed by signal 9 .* before opening the channel\$"
expect_out "$what" "^Removed posix:/shmkit-demo-chan-$pid\\.\$"
check_clean "$what" "$pid"

# 10. SIGTERM while the lock section waits for its peer: the lock's
# segment is removed and the demo dies of SIGTERM.
what="shmkit demo lock, SIGTERM"
rm -f "$tmp/out"
"$cli" demo --peer-delay 10000 lock >"$tmp/out" 2>"$tmp/err" &
pid=$!
for _ in $(seq 100); do
	grep -q '^Started peer' "$tmp/out" 2>/dev/null && break
	sleep 0.05
done
kill -TERM "$pid"
wait "$pid"
rc=$?
show
if [ "$rc" -ne 143 ]; then
	echo "FAIL: $what: exit $rc, expected 143 (killed by SIGTERM)"
	fail=1
fi
expect_out "$what" "^Removed posix:/shmkit-demo-lock-$pid\\.\$"
expect_err "$what" '^shmkit demo: interrupted by signal 15 .*; removed what it had made$'
check_clean "$what" "$pid"

[ "$fail" -eq 0 ] && echo "ok: demo"
exit "$fail"
