#!/bin/bash
# shmkit ls shows System V segments exactly as ipcs -m does (key, id,
# owner, perms, bytes, nattch, status), including one marked for
# destruction while attached; and its JSON has the same values.
set -eu
. "$(dirname "$0")/lib/common.sh"

k1=$(key_for 1) k2=$(key_for 2) k3=$(key_for 3)
own_key "$k1"; own_key "$k2"; own_key "$k3"
"$SHMKIT" mk "sysv:$k1" --size 4096 >/dev/null
"$SHMKIT" mk "sysv:$k2" --size 100000 --mode 0640 >/dev/null
"$SHMKIT" mk "sysv:$k3" --size 8192 >/dev/null
id3=$(ipcs -m | awk -v k="$k3" '$1 == k { print $2 }')
on_exit "ipcrm -m $id3"

# A process holds k3 attached while we remove it: it becomes "dest".
mkfifo "$tmp/hold"
"$RAW/raw_cli_hold" "$k3" <"$tmp/hold" >"$tmp/held" &
holder=$!
exec 7>"$tmp/hold"
on_exit "exec 7>&-; wait $holder"
for _ in $(seq 100); do grep -q attached "$tmp/held" && break; sleep 0.05; done
grep -q attached "$tmp/held" || fail "holder did not attach"
run "$SHMKIT" rm "sysv:$k3"
expect_eq "rm exit" "$rc" 0
case $out in *"marked for destruction"*) ;; *) fail "rm did not explain: $out" ;; esac

ids="$(ipcs -m | awk -v a="$k1" -v b="$k2" '$1 == a || $1 == b { print $2 }') $id3"
# ipcs prints perms as octal digits (600), as the MODE column does.
want=$(ipcs -m | awk -v ids=" $ids " 'index(ids, " " $2 " ") {
	print $1, $2, $3, $4, $5, $6, ($7 == "" ? "-" : $7) }' | sort -k2n)
got=$("$SHMKIT" ls -t sysv -r -n -b -o KEY,ID,OWNER,MODE,SIZE,NATTCH,STATUS |
	awk -v ids=" $ids " 'index(ids, " " $2 " ") {
		print $1, $2, $3, $4, $5, $6, ($7 == "" ? "-" : $7) }' | sort -k2n)
[ "$got" = "$want" ] || {
	printf 'ipcs -m:\n%s\nshmkit ls:\n%s\n' "$want" "$got"
	fail "shmkit ls differs from ipcs -m"
}
echo "$got" | grep -q "^0x00000000 $id3 .* 1 dest$" ||
	fail "dest segment not shown as key 0, nattch 1, dest: $got"

# JSON: the same values, as numbers where they are numbers.
command -v python3 >/dev/null || { echo "no python3: JSON part skipped"; exit 0; }
"$SHMKIT" ls -t sysv --json -b -o KEY,ID,OWNER,MODE,SIZE,NATTCH,STATUS >"$tmp/ls.json"
python3 - "$tmp/ls.json" "$want" <<'PY'
import json, sys
rows = {r["id"]: r for r in json.load(open(sys.argv[1]))["shmkit"]}
for line in sys.argv[2].splitlines():
    key, id_, owner, mode, size, nattch, status = line.split()
    r = rows[int(id_)]
    got = (r["key"], r["owner"], r["mode"], r["size"], r["nattch"], r["status"] or "-")
    want = (key, owner, mode, int(size), int(nattch), status)
    assert got == want, (got, want)
    assert isinstance(r["size"], int) and isinstance(r["nattch"], int)
print("json ok")
PY
