#!/bin/bash
# The semaphore example: 8 worker processes share 3 permits; the most
# ever inside at once must be at least 1 and at most 3.
set -eu
out=$("$SHMKIT_BUILD_DIR/examples/sem_pool" 8 3 30)
echo "$out"
if [[ $out =~ ^8\ workers,\ 3\ permits:\ at\ most\ ([0-9]+)\ inside ]] &&
	[ "${BASH_REMATCH[1]}" -ge 1 ] && [ "${BASH_REMATCH[1]}" -le 3 ]; then
	exit 0
fi
echo "FAIL: concurrency above the limit, or unexpected output"
exit 1
