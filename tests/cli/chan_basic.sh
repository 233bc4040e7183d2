#!/bin/bash
# shmkit chan from the shell: create, send lines and arguments, receive
# them in another process, a file with NUL bytes round-trips byte for
# byte, stat in text and JSON, broadcast to two receivers, lost messages
# counted, and an empty channel times out with a clear message.
set -eu
. "$(dirname "$0")/lib/common.sh"

ch=/sk-cli-$$-chan bc=/sk-cli-$$-bcast ow=/sk-cli-$$-ow
own_posix "$ch"; own_posix "$bc"; own_posix "$ow"
T="timeout 20" # every command that may wait, in case a wait never ends

# wait_stat ADDRESS EXPR: until the Python EXPR holds for the channel's
# stat --json as s (live: its live peers), for at most 10 s.
wait_stat() {
	local i
	for ((i = 0; i < 200; i++)); do
		"$SHMKIT" chan stat "$1" --json >"$tmp/ws.json" || fail "stat $1 failed"
		python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
live = [p for p in s["peers"] if p["alive"]]
sys.exit(0 if eval(sys.argv[2]) else 1)' "$tmp/ws.json" "$2" && return 0
		sleep 0.05
	done
	fail "$1: never $2: $(cat "$tmp/ws.json")"
}
wait_consumers() {
	wait_stat "$1" "len([p for p in live if p['role'] == 'consumer']) == $2"
}

run "$SHMKIT" chan create "$ch" --pattern mpmc --msg-max 4K --slots 16
expect_eq "create status" "$rc" 0
expect_eq "create prints the address" "$out" "posix:$ch"
expect_eq "create mode" "$(stat -c %a "/dev/shm${ch}")" 600

# Lines of stdin, received by another process already waiting.
"$SHMKIT" chan recv "$ch" -n 3 --timeout 10 >"$tmp/lines" &
rpid=$!
on_exit "kill $rpid"
printf 'one\ntwo words\n\n' | $T "$SHMKIT" chan send "$ch" --timeout 5
wait $rpid || fail "recv of lines failed"
printf 'one\ntwo words\n\n' | cmp - "$tmp/lines" || fail "lines differ: $(od -c "$tmp/lines")"

# Arguments, one message each, sent before anyone receives.
$T "$SHMKIT" chan send "$ch" 'first arg' -- '-second'
run $T "$SHMKIT" chan recv "$ch" -n 2 --timeout 5
expect_eq "argument messages" "$out" "first arg
-second"

# A file with NUL bytes, whole, as one message.
{ printf 'a\0b\n\0'; head -c 3000 /dev/urandom; printf '\0'; } >"$tmp/bin"
$T "$SHMKIT" chan send "$ch" --file "$tmp/bin"
$T "$SHMKIT" chan recv "$ch" --raw --timeout 5 >"$tmp/bin.out"
cmp "$tmp/bin" "$tmp/bin.out" || fail "binary message changed in transit"
# An empty message is a message too.
: >"$tmp/empty"
$T "$SHMKIT" chan send "$ch" --file "$tmp/empty"
run $T "$SHMKIT" chan recv "$ch" --raw --timeout 5
expect_eq "empty message status" "$rc" 0
expect_eq "empty message" "$(wc -c <"$tmp/out")" 0

# stat: two messages pending, the counters, a live consumer with its pid.
$T "$SHMKIT" chan send "$ch" x y
$T "$SHMKIT" chan recv "$ch" --follow --timeout 10 -n 1 >/dev/null 2>&1 &&
	fail "--follow with --count accepted"
run "$SHMKIT" chan stat "$ch"
expect_eq "stat status" "$rc" 0
for want in "pattern    mpmc" "policy     block" "msg-max    4096" \
	"slots      16" "sent       9" "received   7" "pending    2"; do
	grep -qx "$want" "$tmp/out" || fail "stat lacks '$want': $out"
done
mkfifo "$tmp/fifo"
"$SHMKIT" chan recv "$ch" --follow >"$tmp/fifo" &
fpid=$!
on_exit "kill $fpid"
exec 3<"$tmp/fifo"
read -r -t 10 line <&3 && expect_eq "follow, first" "$line" x
read -r -t 10 line <&3 && expect_eq "follow, second" "$line" y
wait_stat "$ch" "s['pending'] == 0 and live and live[0]['messages'] == 2"
"$SHMKIT" chan stat "$ch" --json >"$tmp/json"
python3 - "$tmp/json" "$fpid" "posix:$ch" <<'EOF' || fail "stat --json: $(cat "$tmp/json")"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["address"] == sys.argv[3], s
assert s["pattern"] == "mpmc" and s["policy"] == "block", s
assert (s["msg-max"], s["slots"]) == (4096, 16), s
assert (s["sent"], s["received"], s["pending"]) == (9, 9, 0), s
live = [p for p in s["peers"] if p["alive"]]
assert [(p["pid"], p["role"]) for p in live] == [(int(sys.argv[2]), "consumer")], s
assert live[0]["messages"] == 2, live
EOF
run "$SHMKIT" chan stat "$ch"
grep -Eq "^ +[0-9]+  consumer +$fpid  alive " "$tmp/out" || fail "stat peer table: $out"
# SIGTERM ends --follow cleanly: it unregisters and dies of the signal.
kill -TERM $fpid
wait_exit "follow after SIGTERM" $fpid
exec 3<&-
expect_eq "follow killed by SIGTERM" "$st" 143
"$SHMKIT" chan stat "$ch" --json | python3 -c '
import json, sys
s = json.load(sys.stdin)
assert not [p for p in s["peers"] if p["alive"]], s' || fail "peer left behind"

# An empty channel: a timed recv fails and says why; --nonblock too.
run $T "$SHMKIT" chan recv "$ch" --timeout 0.2
expect_eq "recv timeout status" "$rc" 1
case $err in *"shmkit chan recv: $ch: timed out waiting for a message (0 of 1 received)"*) ;;
*) fail "recv timeout message: $err" ;; esac
run $T "$SHMKIT" chan recv "$ch" --nonblock
expect_eq "recv nonblock status" "$rc" 1
case $err in *"no message waiting"*) ;; *) fail "nonblock message: $err" ;; esac
# --follow with --timeout ends quietly when idle.
run $T "$SHMKIT" chan recv "$ch" --follow --timeout 0.2
expect_eq "idle follow" "$rc/$out/$err" "0//"

# Broadcast: both subscribers get every message.
$T "$SHMKIT" chan create "$bc" --pattern broadcast >/dev/null
"$SHMKIT" chan recv "$bc" -n 3 --timeout 10 >"$tmp/b1" &
b1=$!
"$SHMKIT" chan recv "$bc" -n 3 --timeout 10 >"$tmp/b2" &
b2=$!
on_exit "kill $b1 $b2"
wait_consumers "$bc" 2
printf 'tick 1\ntick 2\ntick 3\n' | $T "$SHMKIT" chan send "$bc"
wait $b1 || fail "first subscriber failed"
wait $b2 || fail "second subscriber failed"
printf 'tick 1\ntick 2\ntick 3\n' | cmp - "$tmp/b1" || fail "subscriber 1: $(cat "$tmp/b1")"
printf 'tick 1\ntick 2\ntick 3\n' | cmp - "$tmp/b2" || fail "subscriber 2: $(cat "$tmp/b2")"

# Overwrite: a stopped subscriber loses messages and is told how many.
$T "$SHMKIT" chan create "$ow" --pattern broadcast --policy overwrite \
	--slots 2 >/dev/null
"$SHMKIT" chan recv "$ow" --timeout 10 >"$tmp/o" 2>"$tmp/o.err" &
op=$!
on_exit "kill -CONT $op; kill $op"
wait_consumers "$ow" 1
kill -STOP $op
$T "$SHMKIT" chan send "$ow" 1 2 3 4 5 6 7 8 9 10
kill -CONT $op
wait $op || fail "overwritten subscriber failed: $(cat "$tmp/o.err")"
lost=$(sed -n 's/^shmkit chan recv: lost \([0-9]*\) messages\{0,1\}$/\1/p' "$tmp/o.err")
[ -n "$lost" ] || fail "no lost count: $(cat "$tmp/o.err")"
# Whatever it got first, every message before it was lost, and the
# newest could not be.
got=$(cat "$tmp/o")
expect_eq "lost before message $got" "$lost" $((got - 1))
[ "$got" -ge 9 ] || fail "received message $got of a 2-slot ring"
echo "chan basic ok"
