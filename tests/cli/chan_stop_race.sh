#!/bin/bash
# A stop signal handled just before chan send blocks reading its input,
# or chan recv writing its output, after the command last looked at its
# stop flag: the blocked call does not see it, yet the command must still
# end (a SIGALRM re-arms until it does), die of the signal within 3 s,
# and leave the channel as a stop anywhere else does. No timing lands a
# signal in that gap, so an LD_PRELOAD shim (tests/shim/stop_race.c)
# raises it there.
set -eu
. "$(dirname "$0")/lib/common.sh"

SHIM=$RAW/libstop_race_shim.so
[ -f "$SHIM" ] || fail "$SHIM not built"
# An ASan build wants its runtime first among the libraries; the shim
# only wraps two libc calls, so that order does not matter here.
asan="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"

ch=/sk-cli-$$-race
own_posix "$ch"
"$SHMKIT" chan create "$ch" >/dev/null
mkfifo "$tmp/fifo"

# started: keep the pid of the job just started in $pid, and kill it
# whatever happens.
started() {
	pid=$!
	on_exit "kill -9 $pid"
}

# shimmed MODE CMD... &: CMD under the shim in STOP_RACE mode MODE.
# Only in the background: it execs, so that $! is CMD's own pid.
shimmed() {
	STOP_RACE=$1 LD_PRELOAD=$SHIM ASAN_OPTIONS=$asan exec "${@:2}"
}

# expect_stopped WHAT PID: PID must die of SIGTERM within 3 s.
expect_stopped() {
	wait_exit "$1" "$2" 3
	expect_eq "$1: dies of SIGTERM" "$st" 143
}

# chan send reading lines from a FIFO this shell keeps open and never
# writes: the read blocks for good unless something interrupts it.
exec 3<>"$tmp/fifo"
shimmed read "$SHMKIT" chan send "$ch" <"$tmp/fifo" 3<&- &
started
expect_stopped "send, signal before its read" "$pid"
exec 3<&-

# A SIGALRM someone else sends changes nothing, wherever the command
# blocks: in a wait for a message, in opening a FIFO nobody writes to,
# in reading its input, in writing its output. SIGTERM still ends it,
# also in that open.
# expect_alive WHAT PID: still running 0.3 s after a SIGALRM.
expect_alive() {
	sleep 0.2
	kill -ALRM "$2"
	sleep 0.3
	kill -0 "$2" 2>/dev/null || { wait "$2" || true; fail "$1: a SIGALRM ended it"; }
}
"$SHMKIT" chan recv "$ch" --follow >/dev/null &
started
expect_alive "recv waiting" "$pid"
kill -TERM "$pid"
expect_stopped "recv waiting, after a SIGALRM" "$pid"
rm -f "$tmp/fifo" && mkfifo "$tmp/fifo"
"$SHMKIT" chan send "$ch" --file "$tmp/fifo" &
started
expect_alive "send opening a FIFO" "$pid"
kill -TERM "$pid"
expect_stopped "send opening a FIFO" "$pid"
exec 3<>"$tmp/fifo"
"$SHMKIT" chan send "$ch" --file - <"$tmp/fifo" 3<&- &
started
expect_alive "send reading --file -" "$pid"
printf 'read whole' >&3
exec 3<&-
wait_exit "send reading --file -" "$pid"
expect_eq "send reading --file -: status after a SIGALRM" "$st" 0
exec 3<>"$tmp/fifo"
shimmed fill "$SHMKIT" chan recv "$ch" >"$tmp/fifo" 3<&- &
started
expect_alive "recv writing to a full pipe" "$pid"
kill -TERM "$pid"
expect_stopped "recv writing to a full pipe" "$pid"
exec 3<&-

# chan recv writing a message into a full pipe nobody reads: the
# message ("read whole", sent above) stays in the channel for the next
# receiver.
"$SHMKIT" chan send "$ch" kept
exec 3<>"$tmp/fifo"
shimmed fflush "$SHMKIT" chan recv "$ch" >"$tmp/fifo" 3<&- &
started
expect_stopped "recv, signal before its write" "$pid"
exec 3<&-

run "$SHMKIT" chan stat "$ch"
case $out in *"0 registered, 0 alive"*) ;;
*) fail "a stopped command is still registered: $out" ;; esac
run "$SHMKIT" chan recv "$ch" -n2 --nonblock
expect_eq "the messages, the one recv could not write out first" \
	"$out" "read whole
kept"
echo "chan stop race ok"
