#!/bin/bash
# "shmkit bench --quick" measures every mechanism and its numbers are
# sane: latencies > 0 and ordered (p50 <= p90 <= p99 <= p99.9 <= max),
# throughput > 0; and the run leaves ipcs -m/-q and /dev/shm as it found
# them.
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

rc=0
"$cli" bench --quick --iterations 200 --json >"$tmp/out.json" || rc=$?
if [ $rc -ne 0 ]; then
	echo "FAIL: shmkit bench --quick exited $rc"
	exit 1
fi
"$cli" bench --list | awk 'NR > 1 { print $1 }' >"$tmp/mechs"

python3 - "$tmp/out.json" "$tmp/mechs" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
mechs = open(sys.argv[2]).read().split()
ok = {}
bad = []
for r in doc["results"]:
    m = r["mechanism"]
    if r["status"] == "failed":
        bad.append("%s %d failed: %s" % (m, r["size"], r["reason"]))
        continue
    if r["status"] != "ok":
        continue
    ok[m] = ok.get(m, 0) + 1
    lat = r["latency_ns"]
    seq = [lat[k] for k in ("p50", "p90", "p99", "p99.9", "max")]
    if min(seq) <= 0:
        bad.append("%s %d: latency <= 0: %s" % (m, r["size"], seq))
    if seq != sorted(seq):
        bad.append("%s %d: percentiles out of order: %s" % (m, r["size"], seq))
    if not r["msgs_per_s"] or r["msgs_per_s"] <= 0:
        bad.append("%s %d: messages/s <= 0" % (m, r["size"]))
    # Copying rows have a bandwidth; zero-copy channel rows copy nothing.
    if m.startswith("chan-"):
        if r["bytes_per_s"] is not None:
            bad.append("%s %d: zero-copy row with bytes/s" % (m, r["size"]))
    elif r["size"] > 0 and m not in ("floor",) and not (r["bytes_per_s"] or 0) > 0:
        bad.append("%s %d: bytes/s <= 0" % (m, r["size"]))
# The synchronisation comparisons (mutex, event) are their own section.
for r in doc["sync"]:
    m = r["mechanism"]
    if r["status"] == "failed":
        bad.append("%s failed: %s" % (m, r["reason"]))
        continue
    if r["status"] != "ok":
        continue
    ok[m] = ok.get(m, 0) + 1
    for k in ("shmkit_ns", "baseline_ns", "ratio"):
        if not r[k] or r[k] <= 0:
            bad.append("%s: %s <= 0" % (m, k))
for m in mechs:
    if m not in ok:
        bad.append("%s: no result" % m)
for b in bad:
    print("FAIL:", b)
if bad:
    sys.exit(1)
print("%d mechanisms, %d results, all sane" % (len(ok), sum(ok.values())))
PY

state >"$tmp/after"
if ! diff -u "$tmp/before" "$tmp/after"; then
	echo "FAIL: shmkit bench left IPC objects behind (above)"
	exit 1
fi
