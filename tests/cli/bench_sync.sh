#!/bin/bash
# The synchronisation section of "shmkit bench": --only mutex,event gives
# one entry each in the table, the JSON "sync" array and the "sync" rows
# of the CSV table, with positive times for shmkit and its baseline (a private
# pthread mutex, a pipe round trip) and their ratio.
set -eu
cli=${SHMKIT_CLI:?}
tmp=$(mktemp -d)
# Temporary files of this run (gnuplot data, file segments) stay here.
export TMPDIR="$tmp"
trap 'rm -rf "$tmp"' EXIT
opts=(--only mutex,event --sizes 64 --iterations 200 --warmup 10
	--duration 10ms)

"$cli" bench "${opts[@]}" >"$tmp/out.txt"
"$cli" bench --json "${opts[@]}" >"$tmp/out.json"
"$cli" bench --csv "${opts[@]}" >"$tmp/out.csv"
cat "$tmp/out.txt"

python3 - "$tmp/out.txt" "$tmp/out.json" "$tmp/out.csv" <<'PY'
import csv, json, re, sys
txt, js, cs = (open(f).read() for f in sys.argv[1:4])
bad = []
want = {"mutex": "pthread-mutex", "event": "pipe"}

# Table: "NAME BASELINE SHMKIT BASE RATIO SAMPLES" under the SYNC header.
sec = txt.split("\nSYNC ", 1)
if len(sec) != 2:
    bad.append("table: no SYNC section")
else:
    for m, base in want.items():
        if not re.search(r"^%s +%s +[0-9.]+[nums]+s +[0-9.]+[nums]+s +"
                         r"[0-9.]+x +[0-9]+$" % (m, base), sec[1], re.M):
            bad.append("table: no sane %s row" % m)

# JSON: one entry per mechanism, positive numbers.
doc = json.loads(js)
got = {r["mechanism"]: r for r in doc["sync"]}
if set(got) != set(want):
    bad.append("json: sync mechanisms %r" % sorted(got))
for m, r in got.items():
    if r["status"] != "ok":
        bad.append("json: %s status %s: %s" % (m, r["status"], r["reason"]))
        continue
    if r["baseline"] != want[m]:
        bad.append("json: %s baseline %r" % (m, r["baseline"]))
    for k in ("shmkit_ns", "baseline_ns", "ratio", "samples"):
        if not r[k] or r[k] <= 0:
            bad.append("json: %s %s = %r" % (m, k, r[k]))
    if abs(r["ratio"] - r["shmkit_ns"] / r["baseline_ns"]) > 0.01 * r["ratio"]:
        bad.append("json: %s ratio is not shmkit_ns / baseline_ns" % m)
# The main results are unchanged: baselines only, no sync rows there.
if {r["mechanism"] for r in doc["results"]} != {"floor", "memcpy", "pipe"}:
    bad.append("json: results %r" % sorted({r["mechanism"] for r in doc["results"]}))

# CSV: one table; the sync rows have kind "sync" and their own columns.
lines = [l for l in cs.splitlines() if l and not l.startswith("#")]
rows = list(csv.reader(lines))
head, body = rows[0], rows[1:]
if head[:2] != ["kind", "mechanism"]:
    bad.append("csv: header %r" % head)
syncs = []
for r in body:
    if len(r) != len(head):
        bad.append("csv: row %r" % r)
        continue
    d = dict(zip(head, r))
    if d["kind"] != "sync":
        continue
    syncs.append(d["mechanism"])
    if d["status"] != "ok" or not float(d["shmkit_ns"]) > 0 or \
       not float(d["baseline_ns"]) > 0 or not float(d["ratio"]) > 0 or \
       d["baseline"] != want.get(d["mechanism"]):
        bad.append("csv: row %r" % r)
if sorted(syncs) != sorted(want):
    bad.append("csv: sync rows %r" % syncs)
for b in bad:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
PY
echo "sync section ok"
