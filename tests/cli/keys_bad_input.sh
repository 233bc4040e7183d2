#!/bin/bash
# shmkit keys meets bad input with exit 2 and a message (usage errors) or
# exit 1 (failures), and changes nothing; --help works for every command.
set -eu
. "$(dirname "$0")/lib/common.sh"

addr="posix:/sk-cli-$$-kbad"
own_posix "/sk-cli-$$-kbad"

expect_fail() { # STATUS PATTERN CMD...
	local want=$1 pat=$2
	shift 2
	run "$@"
	[ "$rc" = "$want" ] || fail "$*: exit $rc, want $want (stderr: $err)"
	case $err in *$pat*) ;; *) fail "$*: stderr '$err' lacks '$pat'" ;; esac
	[ -z "$out" ] || fail "$*: printed '$out' on stdout"
}
k() { "$SHMKIT" keys -a "$addr" "$@"; }

for c in "" init put get del revoke ls; do
	# shellcheck disable=SC2086
	run "$SHMKIT" keys $c --help
	expect_eq "keys $c --help exit" "$rc" 0
	case $out in *Usage:*Example*) ;; *) fail "keys $c --help: $out" ;; esac
	[ -z "$err" ] || fail "keys $c --help wrote to stderr: $err"
done

expect_fail 2 "missing COMMAND" "$SHMKIT" keys
expect_fail 2 "unknown command 'frob'" "$SHMKIT" keys frob
expect_fail 2 "unrecognized option '--bogus'" "$SHMKIT" keys --bogus ls
expect_fail 1 "no such segment" k ls
expect_fail 1 "no such segment" k get a b
expect_fail 1 "bogus:1: not an address" "$SHMKIT" keys -a bogus:1 ls
expect_fail 1 "make a key store with 'shmkit keys -a /sk-cli-$$-none init'" \
	"$SHMKIT" keys -a "/sk-cli-$$-none" ls

k init --capacity 2 >/dev/null
expect_fail 2 "--capacity: '0' is not a number from 1 to" "$SHMKIT" keys -a "posix:/sk-cli-$$-k2" init --capacity 0
expect_fail 2 "--capacity" "$SHMKIT" keys -a "posix:/sk-cli-$$-k2" init --capacity x
expect_fail 2 "invalid mode" "$SHMKIT" keys -a "posix:/sk-cli-$$-k2" init --mode 800
[ ! -e "/dev/shm/sk-cli-$$-k2" ] || fail "a refused init created the store"
expect_fail 1 "File exists" k init

# Ids: empty, 13 bytes; missing operands; extra operands.
printf 'k' >"$tmp/k"
expect_fail 2 "client id is 0 bytes" k put "" s -k 1
expect_fail 2 "server id is 13 bytes" k put c abcdefghijklm -k 1
expect_fail 2 "client id is 13 bytes" k get abcdefghijklm s
expect_fail 2 "missing CLIENT and SERVER" k get c
expect_fail 2 "missing CLIENT and SERVER" k del
expect_fail 2 "too many arguments" k revoke a b c
expect_fail 2 "missing --key-id" bash -c "'$SHMKIT' keys -a '$addr' put c s < '$tmp/k'"
expect_fail 2 "--key-id must be a number" k put c s -k -1 --file "$tmp/k"
expect_fail 2 "--key-id must be a number" k put c s -k 4294967296 --file "$tmp/k"
expect_fail 2 "no key bytes" k put c s -k 1 --file /dev/null
expect_fail 2 "no key bytes" bash -c "'$SHMKIT' keys -a '$addr' put c s -k 1 < /dev/null"
expect_fail 2 "longer than 128 bytes" bash -c "head -c 129 /dev/zero | '$SHMKIT' keys -a '$addr' put c s -k 1"
expect_fail 2 "longer than 128 bytes" bash -c "head -c 129 /dev/zero | od -An -v -tx1 | '$SHMKIT' keys -a '$addr' put c s -k 1 --hex"
expect_fail 2 "not hex digits in pairs" bash -c "printf abc | '$SHMKIT' keys -a '$addr' put c s -k 1 --hex"
expect_fail 1 "No such file or directory" k put c s -k 1 --file "$tmp/missing"
expect_fail 2 "needs --reveal" k get c s --raw
expect_fail 2 "unrecognized option '--key'" k put c s -k 1 --key abc
# None of that stored anything.
expect_eq "records after bad input" "$(k ls -n | wc -l)" 0

# Exactly 128 bytes and 12-byte ids are fine; put reads stdin.
head -c 128 /dev/urandom >"$tmp/k128"
k put abcdefghijkl abcdefghijkl -k 0 <"$tmp/k128"
k get abcdefghijkl abcdefghijkl --reveal --raw | cmp -s - "$tmp/k128" ||
	fail "128-byte key did not round-trip"

# Not a key store: a plain segment and nonsense in one.
"$SHMKIT" mk "posix:/sk-cli-$$-kplain" --size 4096 >/dev/null
own_posix "/sk-cli-$$-kplain"
expect_fail 1 "not a key store" "$SHMKIT" keys -a "posix:/sk-cli-$$-kplain" ls
head -c 4096 /dev/urandom | "$SHMKIT" write "posix:/sk-cli-$$-kplain"
run "$SHMKIT" keys -a "posix:/sk-cli-$$-kplain" get a b
expect_eq "garbage store" "$rc" 1
"$SHMKIT" rm "posix:/sk-cli-$$-kplain" "$addr"
echo "keys bad input ok"
