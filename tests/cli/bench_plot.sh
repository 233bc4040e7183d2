#!/bin/bash
# "shmkit bench --plot": an SVG for .svg, a PNG for .png (when gnuplot is
# installed; skipped otherwise), a usage error for other extensions, and
# an x axis labelled at every measured size.
set -eu
cli=${SHMKIT_CLI:?}
command -v gnuplot >/dev/null || { echo "gnuplot not installed: skip"; exit 77; }
tmp=$(mktemp -d)
# Temporary files of this run (gnuplot data, file segments) stay here.
export TMPDIR="$tmp"
trap 'rm -rf "$tmp"' EXIT
args=(--only shm-memfd,unix-stream --sizes 64,4K,64K --iterations 50
	--warmup 5 --duration 5ms)

"$cli" bench "${args[@]}" --plot "$tmp/out.svg" >/dev/null
head -c 100 "$tmp/out.svg" | grep -Eq '^(<\?xml|<svg)' ||
	{ echo "FAIL: not an SVG"; head -c 200 "$tmp/out.svg"; exit 1; }
grep -q 'shm-memfd' "$tmp/out.svg" || { echo "FAIL: no shm-memfd line"; exit 1; }

"$cli" bench "${args[@]}" --plot "$tmp/out.png" >/dev/null
[ "$(head -c 4 "$tmp/out.png" | od -An -tx1 | tr -d ' ')" = 89504e47 ] ||
	{ echo "FAIL: not a PNG"; exit 1; }

# Zero-copy channel rows have no bytes/s: their curve is left out of the
# bandwidth panel (gnuplot refuses a curve without a point), not the plot.
"$cli" bench --only chan-memfd --sizes 64,4K --iterations 50 --warmup 5 \
	--duration 5ms --plot "$tmp/chan.svg" >/dev/null ||
	{ echo "FAIL: --plot with a channel row"; exit 1; }
[ "$(grep -c 'chan-memfd' "$tmp/chan.svg")" -ge 1 ] ||
	{ echo "FAIL: no chan-memfd line"; exit 1; }

# Every measured size labels the x axis of both panels: the floor's 64
# bytes, requested or not, and the largest, at the range's end.
for sizes in 4K,64K 8,4K; do
	"$cli" bench --only shm-memfd --sizes $sizes --iterations 50 --warmup 5 \
		--duration 5ms --plot "$tmp/tics.svg" >/dev/null
	for label in 64 ${sizes//,/ }; do
		n=$(grep -c "<text>$label</text>" "$tmp/tics.svg" || true)
		[ "$n" -eq 2 ] || { echo "FAIL: --sizes $sizes: x label $label $n times, want 2"; exit 1; }
	done
done

rc=0
"$cli" bench "${args[@]}" --plot "$tmp/out.pdf" >/dev/null 2>&1 || rc=$?
[ $rc -eq 2 ] || { echo "FAIL: --plot out.pdf exited $rc, expected 2"; exit 1; }
ls "$tmp" | grep -q gp && { echo "FAIL: temporary files left"; exit 1; }
echo "plot ok"
