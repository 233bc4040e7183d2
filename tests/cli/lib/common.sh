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
