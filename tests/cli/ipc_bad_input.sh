#!/bin/bash
# Every subcommand meets bad input with a clear message naming the object
# and the reason, exit 1 for failures and 2 for usage errors, never a
# crash.
set -eu
. "$(dirname "$0")/lib/common.sh"

expect_fail() { # STATUS PATTERN CMD...
	local want=$1 pat=$2
	shift 2
	run "$@"
	[ "$rc" = "$want" ] || fail "$*: exit $rc, want $want (stderr: $err)"
	case $err in *$pat*) ;; *) fail "$*: stderr '$err' lacks '$pat'" ;; esac
}

missing="sysv:$(key_for 9)"
expect_fail 1 "shmkit stat: $missing: no such segment" "$SHMKIT" stat "$missing"
expect_fail 1 "$missing" "$SHMKIT" cat "$missing"
expect_fail 1 "$missing" "$SHMKIT" rm "$missing"
# A text that is no address says why, and what would be one.
expect_fail 1 "bogus:1: not an address: give sysv:KEY," "$SHMKIT" stat bogus:1
expect_fail 1 "sysv:0: not an address: key 0 is IPC_PRIVATE" "$SHMKIT" cat sysv:0
expect_fail 1 "frames: not an address: a POSIX name starts with '/': did you mean '/frames'?" \
	"$SHMKIT" stat frames
expect_fail 1 "sysv:6e63: not an address: a System V key is a number" \
	"$SHMKIT" rm sysv:6e63
expect_fail 1 "sysv-id:5: the kernel gives ids" "$SHMKIT" mk sysv-id:5 --size 1
expect_fail 1 "key 0 is IPC_PRIVATE" "$SHMKIT" stat sysv:0x00000000
expect_fail 1 "key out of range (at most 0xffffffff)" "$SHMKIT" stat sysv:0x100000000
expect_fail 1 "'sysv' needs a colon" "$SHMKIT" stat sysv
expect_fail 1 "ftok:PATH:PROJ takes a PATH and a PROJ of 1 to 255" "$SHMKIT" stat ftok:/p:0
run "$SHMKIT" stat frames/x
case $err in *"did you mean"*) fail "frames/x: suggested an invalid name: $err" ;; esac
expect_fail 1 "posix:/a/b" "$SHMKIT" rm posix:/a/b
expect_fail 1 "memfd" "$SHMKIT" mk memfd:x --size 1
for c in cat write rm; do
	expect_fail 1 "shmkit $c: memfd:x: a memfd has no name to look it up by" \
		"$SHMKIT" $c memfd:x </dev/null
done
expect_fail 2 "--json or --raw, not both" "$SHMKIT" ls -J -r
expect_fail 2 "missing --size" "$SHMKIT" mk "posix:/sk-cli-$$-x"
expect_fail 2 "invalid size" "$SHMKIT" mk "posix:/sk-cli-$$-x" --size 12Q
expect_fail 2 "invalid size" "$SHMKIT" mk "posix:/sk-cli-$$-x" --size 0
expect_fail 2 "invalid mode" "$SHMKIT" mk "posix:/sk-cli-$$-x" --size 1 --mode 999
expect_fail 2 "unknown column" "$SHMKIT" ls -o NOPE
expect_fail 2 "unknown type" "$SHMKIT" ls -t nope
expect_fail 2 "missing ADDRESS" "$SHMKIT" cat
expect_fail 2 "invalid offset" "$SHMKIT" cat /x --offset -1
expect_fail 2 "Try" "$SHMKIT" rm
[ ! -e "/dev/shm/sk-cli-$$-x" ] || fail "a refused mk created something"

# rm carries on past failures and exits 1 if any failed.
k=$(key_for 1)
own_key "$k"
"$SHMKIT" mk "sysv:$k" --size 64 >/dev/null
run "$SHMKIT" rm "$missing" "sysv:$k"
expect_eq "rm with one failure" "$rc" 1
run "$SHMKIT" stat "sysv:$k"
expect_eq "rm removed the good one" "$rc" 1

# mk without --excl hands back an existing segment only when it is what
# mk would have made: not one with another mode, nor someone else's.
p=/sk-cli-$$-mode
own_posix "$p"
"$SHMKIT" mk "$p" --size 64 --mode 0666 >/dev/null
expect_fail 1 "posix:$p: already exists with mode 0666, not the 0600 asked for" \
	"$SHMKIT" mk "posix:$p" --size 64
[ -z "$out" ] || fail "a refused mk printed the address: $out"
run "$SHMKIT" mk "$p" --size 64 --mode 0666
expect_eq "mk of the same segment again" "$rc/$out" "0/posix:$p"
case $err in *"already existed"*) ;; *) fail "no note on the existing segment: $err" ;; esac
if [ "$(id -u)" = 0 ]; then
	chown 65534 "/dev/shm$p"
	expect_fail 1 "already exists, owned by uid 65534, not by you" \
		"$SHMKIT" mk "$p" --size 64 --mode 0666
fi

# A failed write to standard output is not the segment's fault.
p=/sk-cli-$$-out
own_posix "$p"
"$SHMKIT" mk "$p" --size 64 >/dev/null
for hex in "" --hex; do
	set +e
	"$SHMKIT" cat "$p" $hex >/dev/full 2>"$tmp/err"
	rc=$?
	set -e
	expect_eq "cat $hex >/dev/full status" "$rc" 1
	expect_eq "cat $hex >/dev/full says" "$(cat "$tmp/err")" \
		"shmkit cat: cannot write to standard output: No space left on device"
done

# Another uid cannot read a 0600 segment: a clear Permission denied.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	p=/sk-cli-$$-priv
	own_posix "$p"
	"$SHMKIT" mk "$p" --size 64 >/dev/null
	expect_fail 1 "posix:$p: Permission denied" \
		setpriv --reuid 65534 --regid 65534 --clear-groups "$SHMKIT" cat "posix:$p"
	expect_fail 1 "Permission denied" \
		setpriv --reuid 65534 --regid 65534 --clear-groups \
		bash -c "printf x | '$SHMKIT' write '$p'"
fi
echo "bad input ok"
