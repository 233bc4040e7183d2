#!/bin/bash
# cat and write move exact bytes, honour --offset and --length, dump hex as
# hexdump -C does, and refuse ranges past the end without writing anything.
set -eu
. "$(dirname "$0")/lib/common.sh"

for addr in "sysv:$(key_for 1)" "posix:/sk-cli-$$-io" "file:$tmp/seg"; do
	case $addr in
	sysv:*) own_key "${addr#sysv:}" ;;
	posix:*) own_posix "${addr#posix:}" ;;
	esac
	"$SHMKIT" mk "$addr" --size 32 >/dev/null
	printf 'hello, shared world' | "$SHMKIT" write "$addr"
	printf 'XY' | "$SHMKIT" write "$addr" --offset 7
	expect_eq "$addr: cat" "$("$SHMKIT" cat "$addr" --length 19)" "hello, XYared world"
	expect_eq "$addr: offset+length" "$("$SHMKIT" cat "$addr" -o 7 -l 2)" "XY"
	expect_eq "$addr: full size" "$("$SHMKIT" cat "$addr" | wc -c)" 32
	"$SHMKIT" cat "$addr" --hex --length 19 >"$tmp/hex"
	printf 'hello, XYared world' | od -An -tx1 >/dev/null # od exists
	head -1 "$tmp/hex" | grep -q '^00000000  68 65 6c 6c 6f 2c 20 58  59 61 72 65 64 20 77 6f  |hello, XYared wo|$' ||
		fail "$addr: hex dump line: $(head -1 "$tmp/hex")"
	expect_eq "$addr: hex end offset" "$(tail -1 "$tmp/hex")" "00000013"

	# Past the end: refused, exit 1, nothing changed.
	"$SHMKIT" cat "$addr" >"$tmp/before"
	run "$SHMKIT" cat "$addr" --offset 33
	expect_eq "$addr: cat offset past end" "$rc" 1
	case $err in *"past the end"*) ;; *) fail "cat past end said: $err" ;; esac
	run "$SHMKIT" cat "$addr" --offset 30 --length 3
	expect_eq "$addr: cat length past end" "$rc" 1
	run bash -c "head -c 33 /dev/zero | '$SHMKIT' write '$addr'"
	expect_eq "$addr: write larger than segment" "$rc" 1
	case $err in *"nothing written"*) ;; *) fail "write too large said: $err" ;; esac
	run bash -c "printf abc | '$SHMKIT' write '$addr' --offset 30"
	expect_eq "$addr: write across the end" "$rc" 1
	"$SHMKIT" cat "$addr" | cmp - "$tmp/before" || fail "$addr: refused write changed data"
	# Exactly to the end is fine.
	printf 'ab' | "$SHMKIT" write "$addr" --offset 30
	"$SHMKIT" rm "$addr"
done
echo "cat/write ok"
