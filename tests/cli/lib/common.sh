# Shared by tests/cli/*.sh: where things are, unique names, cleanup, and
# assertions that say what differed. Source it after `set -u`.
SHMKIT=${SHMKIT_CLI:?SHMKIT_CLI not set: run through ctest}
RAW=$SHMKIT_BUILD_DIR/tests
tmp=$(mktemp -d)
cleanup_cmds=()
cleanup() {
	local c
	for c in "${cleanup_cmds[@]}"; do eval "$c" >/dev/null 2>&1 || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT
on_exit() { cleanup_cmds+=("$1"); }

# A System V key for this run: 0x5c, then 24 bits from pid and n.
key_for() { printf '0x5c%06x' $(((${BASHPID:-$$} * 16 + $1) & 0xffffff)); }
# Register a key/name for removal whatever happens.
own_key() { on_exit "ipcrm -M $1"; }
own_posix() { on_exit "rm -f /dev/shm/${1#/}"; }

fail() { echo "FAIL: $*" >&2; exit 1; }

# expect_eq WHAT GOT WANT
expect_eq() {
	[ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
}

# run CMD...: runs it, keeping stdout, stderr and status in $out $err $rc.
run() {
	set +e
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	set -e
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
}

# wait_exit WHAT PID [SECONDS]: wait at most SECONDS (default 5) for
# PID, a child of this shell, to end, keeping its status in $st; one
# still running then is killed and the test fails, so that a hang fails
# this case quickly and its cleanup still runs.
wait_exit() {
	local i
	for ((i = 0; i < ${3:-5} * 20; i++)); do
		kill -0 "$2" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$2" 2>/dev/null; then
		kill -9 "$2"
		fail "$1: still running after ${3:-5} s"
	fi
	set +e
	wait "$2"
	st=$?
	set -e
}
