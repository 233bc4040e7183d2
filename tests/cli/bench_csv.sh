#!/bin/bash
# "shmkit bench --csv": comment lines with the machine, then one
# rectangular table: one header, one "ipc" row per mechanism and size and
# one "sync" row per synchronisation comparison, all with the header's
# number of fields; small ratios keep their significant digits.
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

"$cli" bench --csv --only unix-dgram,signal,posix-mq,shm-memfd,chan-memfd,mutex \
	--sizes 64,1K,64K --iterations 100 --warmup 10 --duration 10ms \
	>"$tmp/out.csv"
grep -q '^# .*cores' "$tmp/out.csv" || { echo "FAIL: no machine line"; exit 1; }

python3 - "$tmp/out.csv" <<'PY'
import csv, sys
lines = [l for l in open(sys.argv[1]) if not l.startswith("#")]
rows = list(csv.reader(lines))
head, body = rows[0], rows[1:]
bad = []
if head[:4] != ["kind", "mechanism", "size", "status"]:
    bad.append("header %r" % head)
for r in body:
    if len(r) != len(head):
        bad.append("row with %d fields, header has %d: %r" % (len(r), len(head), r))
body = [dict(zip(head, r)) for r in body if len(r) == len(head)]
ipc = [r for r in body if r["kind"] == "ipc"]
sync = [r for r in body if r["kind"] == "sync"]
if len(ipc) + len(sync) != len(body):
    bad.append("kinds %r" % sorted({r["kind"] for r in body}))
mechs = ["floor", "memcpy", "pipe", "unix-dgram", "posix-mq", "signal",
         "shm-memfd", "chan-memfd"]
pairs = [(r["mechanism"], r["size"]) for r in ipc]
for m in mechs:
    for s in ("64", "1024", "65536"):
        if pairs.count((m, s)) != 1:
            bad.append("%s size %s: %d rows" % (m, s, pairs.count((m, s))))
if {r["mechanism"] for r in ipc} != set(mechs):
    bad.append("mechanisms %r" % sorted({r["mechanism"] for r in ipc}))
for r in ipc:
    if r["status"] not in ("ok", "n/a"):
        bad.append("row %r" % r)
    if r["status"] == "ok" and r["mechanism"] != "pipe":
        # A ratio is never rounded to nothing: 4 significant digits.
        v = r["latency_vs_pipe"]
        if not v or float(v) <= 0 or float(v) != float("%.4g" % float(v)):
            bad.append("%s %s: latency_vs_pipe %r" % (r["mechanism"], r["size"], v))
if [r["mechanism"] for r in sync] != ["mutex"]:
    bad.append("sync rows %r" % [r["mechanism"] for r in sync])
for r in sync:
    if r["status"] != "ok" or r["size"] != "" or r["p50_ns"] != "" or \
       not float(r["shmkit_ns"]) > 0 or not float(r["ratio"]) > 0 or \
       r["baseline"] != "pthread-mutex":
        bad.append("sync row %r" % r)
for b in bad:
    print("FAIL:", b)
print("%d rows of %d fields" % (len(body), len(head)))
sys.exit(1 if bad else 0)
PY

state >"$tmp/after"
diff -u "$tmp/before" "$tmp/after"
