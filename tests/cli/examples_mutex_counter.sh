#!/bin/bash
# The robust mutex example: processes share a counter, one dies holding the
# lock, the next locker repairs; the final count must be exact.
set -eu
out=$("$SHMKIT_BUILD_DIR/examples/mutex_counter" 3 20000)
echo "$out"
if [[ $out =~ ^count\ ([0-9]+)\ \(expected\ ([0-9]+):.*repairs\ 1$ ]] &&
	[ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ]; then
	exit 0
fi
echo "FAIL: count differs from expected, or no repair"
exit 1
