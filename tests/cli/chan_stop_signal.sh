#!/bin/bash
# A stop signal ends a waiting chan recv or chan send wherever it lands.
# The library sees a handler only while it sleeps in the kernel; one that
# lands while the wait spins or between two sleeps must still end the
# command (it waits in bounded pieces). Rounds at random moments: a lost
# signal would leave the command waiting forever, so each must die of
# SIGTERM within 3 s and leave no live peer behind. A signal ignored at
# the start (nohup) stays ignored.
set -eu
. "$(dirname "$0")/lib/common.sh"

ch=/sk-cli-$$-stop
own_posix "$ch"
"$SHMKIT" chan create "$ch" --slots 2 >/dev/null
ROUNDS=30

# expect_stopped WHAT PID: SIGTERM the waiting PID, a child of this
# shell; it must die of it within 3 s.
expect_stopped() {
	kill -TERM "$2"
	wait_exit "$1: after SIGTERM" "$2" 3
	expect_eq "$1: dies of SIGTERM" "$st" 143
}

# stop_round WHAT CMD...: start CMD, SIGTERM it 0-99 ms later.
stop_round() {
	local what=$1 pid
	shift
	"$@" >/dev/null &
	pid=$!
	sleep "0.0$((RANDOM % 10))$((RANDOM % 10))"
	expect_stopped "$what" "$pid"
}

# An idle receiver, waiting for a message that never comes.
for ((r = 0; r < ROUNDS; r++)); do
	stop_round "recv --follow, round $r" "$SHMKIT" chan recv "$ch" --follow
done
# A signal ignored at the start stays ignored (nohup): SIGHUP leaves the
# receiver waiting; SIGTERM still ends it.
(
	trap '' HUP
	exec "$SHMKIT" chan recv "$ch" --follow >/dev/null
) &
pid=$!
sleep 0.2
kill -HUP "$pid"
sleep 0.3
if ! kill -0 "$pid" 2>/dev/null; then
	wait "$pid" || true
	fail "an ignored SIGHUP ended chan recv"
fi
expect_stopped "recv --follow after an ignored SIGHUP" "$pid"
# A sender waiting for room in a full channel.
"$SHMKIT" chan send "$ch" a b
for ((r = 0; r < ROUNDS; r++)); do
	stop_round "send to a full channel, round $r" \
		"$SHMKIT" chan send "$ch" c --timeout 60
done
run "$SHMKIT" chan stat "$ch"
case $out in *"0 alive"*) ;; *) fail "a stopped command is still registered: $out" ;; esac
case $out in *"pending    2"*) ;; *) fail "the channel changed: $out" ;; esac
echo "chan stop signal ok"
