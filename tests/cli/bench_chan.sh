#!/bin/bash
# The channel rows of "shmkit bench" (chan-sysv, chan-posix, chan-file,
# chan-memfd, chan-posix-more, chan-posix-adaptive, chan-posix-block): a
# few iterations each, at a small and a large size. Every row is measured
# (status ok: every message's sequence number and pattern bytes were
# checked on arrival, so a batch held back or published twice fails the
# row), its numbers are positive and ordered, its ratios to floor
# and pipe are present and printed with significant digits (never
# "0.00x"), the JSON and the CSV parse, and the run leaves no segment
# behind.
set -eu
cli=${SHMKIT_CLI:?}
tmp=$(mktemp -d)
# Temporary files of this run (file segments) stay here.
export TMPDIR="$tmp"
trap 'rm -rf "$tmp"' EXIT

# What shmkit bench may create, by name: its System V keys (0x5b......),
# /dev/shm and $TMPDIR entries named shmkit-bench-*. Only these, so that
# tests running in parallel do not disturb the comparison.
state() {
	ipcs -m | awk 'NR > 3 && $1 ~ /^0x5b/ { print "shm", $1, $2 }'
	ls -A /dev/shm | grep shmkit-bench || true
	ls -d "${TMPDIR:-/tmp}"/shmkit-bench-* 2>/dev/null || true
}
state >"$tmp/before"

chans=chan-sysv,chan-posix,chan-file,chan-memfd,chan-posix-more,chan-posix-adaptive,chan-posix-block
opts=(--only "$chans" --sizes 64,64K --iterations 100 --warmup 10
	--duration 10ms)
"$cli" bench --list | grep -q '^chan-posix-adaptive ' ||
	{ echo "FAIL: --list has no chan-posix-adaptive"; exit 1; }
"$cli" bench "${opts[@]}" >"$tmp/out.txt"
"$cli" bench --json "${opts[@]}" >"$tmp/out.json"
"$cli" bench --csv "${opts[@]}" >"$tmp/out.csv"
cat "$tmp/out.txt"

python3 - "$tmp/out.txt" "$tmp/out.json" "$tmp/out.csv" "$chans" <<'PY'
import csv, json, re, sys
txt, js, cs = (open(f).read() for f in sys.argv[1:4])
chans = sys.argv[4].split(",")
bad = []

# Table: one row per channel mechanism and size, no ratio shown as 0.00x.
for m in chans:
    for sz in ("64", "64K"):
        if not re.search(r"^%s +%s +[0-9.]+[nums]+s " % (re.escape(m), sz),
                         txt, re.M):
            bad.append("table: no %s %s row" % (m, sz))
for m in chans:
    for sz in ("64", "64K"):
        row = re.search(r"^%s +%s +.*$" % (re.escape(m), sz), txt, re.M)
        if row and row.group(0).split()[8] != "-":
            bad.append("table: %s %s shows bytes/s %r" % (m, sz, row.group(0).split()[8]))
if re.search(r"\b0\.00x", txt):
    bad.append("table: a ratio printed as 0.00x")

# JSON: every channel row ok, numbers positive and ordered.
doc = json.loads(js)
seen = {}
for r in doc["results"]:
    m = r["mechanism"]
    if not m.startswith("chan-"):
        continue
    seen.setdefault(m, set()).add(r["size"])
    if r["status"] != "ok":
        bad.append("json: %s %d: %s (%s)" % (m, r["size"], r["status"], r["reason"]))
        continue
    lat = [r["latency_ns"][k] for k in ("p50", "p90", "p99", "p99.9", "max")]
    if min(lat) <= 0 or lat != sorted(lat):
        bad.append("json: %s %d: latencies %r" % (m, r["size"], lat))
    if not r["samples"] or r["samples"] < 10:
        bad.append("json: %s %d: %r samples" % (m, r["size"], r["samples"]))
    if not r["msgs_per_s"] or r["msgs_per_s"] <= 0:
        bad.append("json: %s %d: msgs_per_s = %r" % (m, r["size"], r["msgs_per_s"]))
    # Zero-copy: no bytes are copied, so no copy bandwidth is claimed.
    if r["bytes_per_s"] is not None or r["ratio"]["throughput_vs_memcpy"] is not None:
        bad.append("json: %s %d: zero-copy row claims bytes/s %r" % (m, r["size"], r["bytes_per_s"]))
    for k in ("latency_vs_floor", "latency_vs_pipe", "throughput_vs_pipe"):
        if not r["ratio"][k] or r["ratio"][k] <= 0:
            bad.append("json: %s %d: ratio %s = %r" % (m, r["size"], k, r["ratio"][k]))
if set(seen) != set(chans):
    bad.append("json: channel mechanisms %r" % sorted(seen))
for m, sizes in seen.items():
    if sizes != {64, 65536}:
        bad.append("json: %s sizes %r" % (m, sorted(sizes)))

# CSV: one rectangular table; the channel rows are "ipc" rows, ok.
lines = [l for l in cs.splitlines() if l and not l.startswith("#")]
rows = list(csv.reader(lines))
head, body = rows[0], rows[1:]
for r in body:
    if len(r) != len(head):
        bad.append("csv: row of %d fields, header has %d" % (len(r), len(head)))
        continue
    d = dict(zip(head, r))
    if d["mechanism"].startswith("chan-"):
        if d["kind"] != "ipc" or d["status"] != "ok" or float(d["p50_ns"]) <= 0 \
           or float(d["msgs_per_s"]) <= 0 or float(d["latency_vs_pipe"]) <= 0 \
           or d["bytes_per_s"] != "" or d["throughput_vs_memcpy"] != "":
            bad.append("csv: row %r" % r)
if sum(1 for r in body if r[1].startswith("chan-")) != 2 * len(chans):
    bad.append("csv: %d channel rows" % sum(1 for r in body if r[1].startswith("chan-")))
for b in bad:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
PY

state >"$tmp/after"
if ! diff -u "$tmp/before" "$tmp/after"; then
	echo "FAIL: the channel rows left segments behind (above)"
	exit 1
fi
echo "chan rows ok"
