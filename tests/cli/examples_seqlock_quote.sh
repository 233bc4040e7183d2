#!/bin/bash
# The seqlock example: one writer, three reader processes; every reader
# must report only consistent reads, and the program must say so.
set -eu
out=$("$SHMKIT_BUILD_DIR/examples/seqlock_quote" 3 50000)
echo "$out"
[ "$(grep -c 'consistent reads$' <<<"$out")" -eq 3 ] || {
	echo "FAIL: not every reader finished cleanly"
	exit 1
}
grep -q '^50000 updates, 3 readers: every read consistent$' <<<"$out" || {
	echo "FAIL: unexpected summary"
	exit 1
}
