#!/bin/bash
# --raw and --json output stays stable: fixed objects against golden files
# (tests/cli/golden/). Names carry this run's pid, replaced by PID.
set -eu
. "$(dirname "$0")/lib/common.sh"
golden=$(dirname "$0")/golden

for n in a b; do own_posix "/sk-cli-$$-$n"; done
"$SHMKIT" mk "/sk-cli-$$-a" --size 4096 >/dev/null
"$SHMKIT" mk "/sk-cli-$$-b" --size 1M --mode 640 >/dev/null
cols=TYPE,ADDRESS,NAME,PERMS,MODE,SIZE,NATTCH,KIND,HEALTH
filter() { grep "sk-cli-$$-" | sed "s/sk-cli-$$-/sk-cli-PID-/g"; }
# The header line, then this run's rows.
"$SHMKIT" ls -t posix --raw -o "$cols" |
	awk -v p="sk-cli-$$-" 'NR == 1 || index($0, p)' |
	sed "s/sk-cli-$$-/sk-cli-PID-/g" >"$tmp/raw"
"$SHMKIT" ls -t posix --raw -b -n -o "$cols" | filter >>"$tmp/raw"
diff -u "$golden/ls_raw.txt" "$tmp/raw" || fail "--raw output changed"
# JSON: keep this run's objects (not those of tests running at the same
# time), whole, in a stable layout.
"$SHMKIT" ls -t posix --json -o "$cols" | python3 -c '
import json, sys
mine = sys.argv[1]
rows = [r for r in json.load(sys.stdin)["shmkit"] if mine in r["address"]]
print(json.dumps({"shmkit": rows}, indent=1, sort_keys=True))
' "sk-cli-$$-" | sed "s/sk-cli-$$-/sk-cli-PID-/g" >"$tmp/json"
diff -u "$golden/ls_json.txt" "$tmp/json" || fail "--json output changed"
echo "golden ok"
