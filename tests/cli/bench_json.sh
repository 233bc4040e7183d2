#!/bin/bash
# "shmkit bench --json" is valid JSON with the machine, the settings and
# one result per mechanism and size: the selected mechanisms plus the
# baselines (floor, memcpy, pipe), nothing else.
set -eu
cli=${SHMKIT_CLI:?}
tmp=$(mktemp -d)
# Temporary files of this run (gnuplot data, file segments) stay here.
export TMPDIR="$tmp"
trap 'rm -rf "$tmp"' EXIT

# What shmkit bench may create, by name: its System V keys (0x5b......),
# private message queues, /dev/shm and $TMPDIR entries named
# shmkit-bench-*. Only these, so that tests running in parallel do not
# disturb the comparison (the suite's leftovers check compares all).
state() {
	ipcs -m | awk 'NR > 3 && $1 ~ /^0x5b/ { print "shm", $1, $2 }'
	ipcs -q | awk 'NR > 3 && $1 == "0x00000000" { print "msg", $2, $3 }'
	ls -A /dev/shm | grep shmkit-bench || true
	ls -d "${TMPDIR:-/tmp}"/shmkit-bench-* 2>/dev/null || true
}
state >"$tmp/before"

"$cli" bench --json --only eventfd,shm-posix,sysv-msg,chan-sysv --sizes 64,4096 \
	--iterations 100 --warmup 10 --duration 10ms >"$tmp/out.json"
python3 -c 'import json,sys; json.load(sys.stdin)' <"$tmp/out.json"

python3 - "$tmp/out.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
bad = []
for k in ("tool", "version", "machine", "settings", "results"):
    if k not in doc:
        bad.append("missing key " + k)
for k in ("cpu", "cores", "kernel", "pinned"):
    if k not in doc.get("machine", {}):
        bad.append("missing machine." + k)
if doc["settings"]["sizes"] != [64, 4096]:
    bad.append("settings.sizes is %r" % doc["settings"]["sizes"])
keys = {"mechanism", "size", "status", "latency_ns", "samples",
        "msgs_per_s", "bytes_per_s", "ratio", "reason"}
seen = {}
for r in doc["results"]:
    if set(r) != keys:
        bad.append("result keys %r" % sorted(r))
    seen.setdefault(r["mechanism"], set()).add(r["size"])
    if r["status"] == "ok":
        for k in ("latency_vs_floor", "latency_vs_pipe"):
            if not r["ratio"][k] or r["ratio"][k] <= 0:
                bad.append("%s %d: ratio %s missing" % (r["mechanism"], r["size"], k))
    elif r["status"] == "failed":
        bad.append("%s %d failed: %s" % (r["mechanism"], r["size"], r["reason"]))
want = {"floor", "memcpy", "pipe", "eventfd", "shm-posix", "sysv-msg",
        "chan-sysv"}
if set(seen) != want:
    bad.append("mechanisms %r, expected %r" % (sorted(seen), sorted(want)))
for m, sizes in seen.items():
    if not {64, 4096} <= sizes:
        bad.append("%s: sizes %r" % (m, sorted(sizes)))
if 0 not in seen.get("eventfd", ()):
    bad.append("eventfd has no size-0 (no payload) row")
for b in bad:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
PY

state >"$tmp/after"
diff -u "$tmp/before" "$tmp/after"
echo "json ok"
