#!/bin/bash
# shmkit ls and shmkit stat show a channel as KIND chan, with its peers and
# whether each is alive: a receiver killed with SIGKILL shows as dead,
# the one still waiting as alive. Plain segments get no PEERS.
set -eu
. "$(dirname "$0")/lib/common.sh"

ch=/sk-cli-$$-chan plain=/sk-cli-$$-plain
own_posix "$ch"; own_posix "$plain"
k=$(key_for 1)
own_key "$k"

"$SHMKIT" chan create "$ch" --pattern mpmc >/dev/null
"$SHMKIT" chan create "sysv:$k" --pattern broadcast >/dev/null
"$SHMKIT" mk "$plain" --size 4096 >/dev/null

# A fresh channel: no peers yet.
"$SHMKIT" ls -t posix -r -n -o ADDRESS,KIND,PATTERN,PEERS,PEERLIST >"$tmp/ls"
grep -qx "posix:$ch chan mpmc 0/0 *" "$tmp/ls" ||
	fail "fresh channel: $(grep -- "$ch" "$tmp/ls")"
grep -Eqx "posix:$plain *" "$tmp/ls" || fail "plain segment: $(grep -- "$plain" "$tmp/ls")"
"$SHMKIT" ls | head -1 | grep -Eq ' KIND +HEALTH +PEERS *$' ||
	fail "PEERS is not a default column: $("$SHMKIT" ls | head -1)"

# Two receivers; one is then killed without a chance to unregister.
"$SHMKIT" chan recv "$ch" --timeout 20 >/dev/null &
live=$!
"$SHMKIT" chan recv "$ch" --timeout 20 >/dev/null &
victim=$!
on_exit "kill -9 $live $victim"
for ((i = 0; i < 200; i++)); do
	"$SHMKIT" chan stat "$ch" | grep -q "2 alive" && break
	sleep 0.05
done
"$SHMKIT" ls -t shmkit -r -n -o ADDRESS,PEERS | grep -qx "posix:$ch 2/2" ||
	fail "two live receivers: $("$SHMKIT" ls -t shmkit -r -n -o ADDRESS,PEERS | grep -- "$ch")"
{ kill -9 $victim && wait $victim; } 2>/dev/null || true

"$SHMKIT" ls -t posix -r -n -o ADDRESS,KIND,PEERS,PEERLIST >"$tmp/ls"
row=$(grep -- "posix:$ch " "$tmp/ls")
case $row in "posix:$ch chan 1/2 "*) ;; *) fail "after SIGKILL: $row" ;; esac
case $row in *"$live:consumer:alive"*) ;; *) fail "live receiver not alive: $row" ;; esac
case $row in *"$victim:consumer:dead"*) ;; *) fail "killed receiver not dead: $row" ;; esac

# The same in JSON, and in shmkit stat.
"$SHMKIT" ls -t posix --json -o ADDRESS,KIND,PEERS >"$tmp/json"
python3 - "$tmp/json" "posix:$ch" "posix:$plain" <<'EOF' || fail "ls --json: $(cat "$tmp/json")"
import json, sys
rows = {r["address"]: r for r in json.load(open(sys.argv[1]))["shmkit"]}
assert rows[sys.argv[2]]["kind"] == "chan" and rows[sys.argv[2]]["peers"] == "1/2"
assert rows[sys.argv[3]]["peers"] in (None, "")
EOF
run "$SHMKIT" stat "$ch"
expect_eq "stat status" "$rc" 0
grep -qx "kind       chan" "$tmp/out" || fail "stat kind: $out"
grep -qx "pattern    mpmc" "$tmp/out" || fail "stat pattern: $out"
grep -qx "peers      2 registered, 1 alive" "$tmp/out" || fail "stat peers: $out"
grep -Eqx "peer       [0-9]+ consumer $live\(shmkit\) alive" "$tmp/out" ||
	fail "stat live peer: $out"
grep -Eqx "peer       [0-9]+ consumer $victim dead" "$tmp/out" ||
	fail "stat dead peer: $out"
"$SHMKIT" stat "$ch" --json | python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s["kind"] == "chan" and s["peers-alive"] == 1, s
assert sorted(p["alive"] for p in s["peers"]) == [False, True], s
' || fail "stat --json of a channel"

# A System V channel is found by --probe (and by stat, which probes).
"$SHMKIT" ls -t sysv -r -n -o KEY,KIND,PEERS | grep -qx "$k *" ||
	fail "sysv channel probed without --probe"
"$SHMKIT" ls -t sysv --probe -r -n -o KEY,KIND,PATTERN,PEERS | grep -qx "$k chan broadcast 0/0" ||
	fail "sysv channel: $("$SHMKIT" ls -t sysv --probe -r -n -o KEY,KIND,PATTERN,PEERS | grep "$k")"
"$SHMKIT" stat "sysv:$k" | grep -qx "peers      0 registered, 0 alive" ||
	fail "stat of a sysv channel: $("$SHMKIT" stat "sysv:$k")"
kill $live 2>/dev/null || true
echo "chan ls ok"
