#!/bin/bash
# shmkit chan recv whose reader has gone ("recv | head -c0") dies of
# SIGPIPE as a filter does, but only after closing its handle: it leaves
# no dead consumer registered, and the message it could not write out
# stays in the channel for the next receiver. An idle --follow receiver
# notices the same without a message to write.
set -eu
. "$(dirname "$0")/lib/common.sh"

ch=/sk-cli-$$-pipe
own_posix "$ch"
"$SHMKIT" chan create "$ch" >/dev/null

# A FIFO whose only reader this shell closes once the receiver has
# registered: every write of the receiver then meets a closed pipe,
# whatever the timing (a "| head -c0" might still be reading).
mkfifo "$tmp/fifo"
exec 3<>"$tmp/fifo"
timeout 20 "$SHMKIT" chan recv "$ch" -n2 --timeout 10 >"$tmp/fifo" 3<&- &
rp=$!
on_exit "kill -9 $rp"
for ((i = 0; i < 200; i++)); do
	"$SHMKIT" chan stat "$ch" | grep -q "1 registered, 1 alive" && break
	sleep 0.05
done
"$SHMKIT" chan stat "$ch" | grep -q "1 registered, 1 alive" ||
	fail "the receiver never registered"
exec 3<&-
"$SHMKIT" chan send "$ch" first second
set +e
wait $rp
rc=$?
set -e
expect_eq "receiver's status (128 + SIGPIPE)" "$rc" 141
run "$SHMKIT" chan stat "$ch"
case $out in *"peers      0 registered, 0 alive"*) ;;
*) fail "the receiver left its place registered: $out" ;; esac
case $out in *"pending    2"*) ;; *) fail "a message was lost: $out" ;; esac
run "$SHMKIT" chan recv "$ch" -n2 --timeout 5
expect_eq "both messages still there" "$out" "first
second"

# An idle receiver notices too, with no message to write: within a piece
# of its wait, it unregisters and dies of SIGPIPE.
exec 4<>"$tmp/fifo"
"$SHMKIT" chan recv "$ch" --follow >"$tmp/fifo" 4<&- &
rp=$!
for ((i = 0; i < 200; i++)); do
	"$SHMKIT" chan stat "$ch" | grep -q "1 registered, 1 alive" && break
	sleep 0.05
done
exec 4<&-
wait_exit "idle --follow after its reader left" $rp 3
expect_eq "idle receiver's status (128 + SIGPIPE)" "$st" 141
run "$SHMKIT" chan stat "$ch"
case $out in *"peers      0 registered, 0 alive"*) ;;
*) fail "the idle receiver left its place registered: $out" ;; esac

# The same with SIGPIPE blocked by the parent: the signal cannot end the
# command, which exits as if it had (141), after unregistering.
python3 - "$SHMKIT" "$ch" <<'EOF' || fail "recv with SIGPIPE blocked"
import signal, subprocess, sys, time
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGPIPE])
p = subprocess.Popen([sys.argv[1], "chan", "recv", sys.argv[2], "--follow"],
                     stdout=subprocess.PIPE)
time.sleep(0.3)
p.stdout.close()
try:
    rc = p.wait(timeout=5)
except subprocess.TimeoutExpired:
    p.kill()
    sys.exit("still running 5 s after its reader left")
sys.exit(0 if rc == 141 else "exit status %d, want 141" % rc)
EOF
run "$SHMKIT" chan stat "$ch"
case $out in *"peers      0 registered, 0 alive"*) ;;
*) fail "the receiver with SIGPIPE blocked stayed registered: $out" ;; esac
echo "chan sigpipe ok"
