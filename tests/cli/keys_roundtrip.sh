#!/bin/bash
# shmkit keys: init, put, get, ls (table and JSON), revoke, del on a
# POSIX and a System V store: every field comes back as put, replacing
# keeps the created time, a revoked key stays listed as revoked, and the
# store is 0600.
set -eu
. "$(dirname "$0")/lib/common.sh"

key=$(key_for 1)
own_key "$key"
own_posix "/sk-cli-$$-keys"
for addr in "posix:/sk-cli-$$-keys" "sysv:$key"; do
	k() { "$SHMKIT" keys -a "$addr" "$@"; }
	expect_eq "$addr: init" "$(k init --capacity 4)" "$addr"
	case $addr in
	posix:*) mode=$(stat -c %a "/dev/shm/sk-cli-$$-keys") ;;
	sysv:*) mode=$(awk -v k=$((key)) 'NR > 1 && $1 == k { print $3 }' /proc/sysvipc/shm) ;;
	esac
	expect_eq "$addr: mode" "$mode" 600

	head -c 32 /dev/urandom >"$tmp/k1"
	k put alice srv1 --key-id 7 <"$tmp/k1"
	printf '00112233445566778899aabbccddeeff\n' | k put bob srv1 -k 4294967295 --hex
	k put carol-12byte srv2 --key-id 9 --file "$tmp/k1"

	k get alice srv1 >"$tmp/get"
	expect_eq "$addr: get status" "$(sed -n 's/^status: *//p' "$tmp/get")" valid
	expect_eq "$addr: get key id" "$(sed -n 's/^key id: *//p' "$tmp/get")" 7
	expect_eq "$addr: get key len" "$(sed -n 's/^key len: *//p' "$tmp/get")" 32
	grep -q '^key:' "$tmp/get" && fail "$addr: get printed a key without --reveal"
	created=$(sed -n 's/^created: *//p' "$tmp/get")
	[ -n "$created" ] && [ "$created" != - ] || fail "$addr: no created time"

	# --reveal: hex of exactly the bytes put; --raw: the bytes.
	expect_eq "$addr: reveal hex" "$(k get bob srv1 --reveal | sed -n 's/^key: *//p')" \
		00112233445566778899aabbccddeeff
	k get alice srv1 --reveal --raw >"$tmp/raw"
	cmp -s "$tmp/raw" "$tmp/k1" || fail "$addr: --reveal --raw bytes differ"
	k get carol-12byte srv2 --reveal --raw | cmp -s - "$tmp/k1" ||
		fail "$addr: --file key differs"
	expect_eq "$addr: max key id" "$(k get bob srv1 | sed -n 's/^key id: *//p')" 4294967295

	# Replace: new key, created kept.
	printf 'abcd' | k put alice srv1 --key-id 8
	k get alice srv1 >"$tmp/get2"
	expect_eq "$addr: replaced key id" "$(sed -n 's/^key id: *//p' "$tmp/get2")" 8
	expect_eq "$addr: replaced key len" "$(sed -n 's/^key len: *//p' "$tmp/get2")" 4
	expect_eq "$addr: created kept" "$(sed -n 's/^created: *//p' "$tmp/get2")" "$created"

	# ls: one line per record, sorted here for a stable comparison.
	k ls -r -n | awk '{ print $1, $2, $3, $4, $5 }' | sort >"$tmp/ls"
	printf '%s\n' "alice srv1 valid 8 4" "bob srv1 valid 4294967295 16" \
		"carol-12byte srv2 valid 9 32" >"$tmp/want"
	diff -u "$tmp/want" "$tmp/ls" || fail "$addr: ls"
	k ls | head -1 | grep -q '^CLIENT *SERVER *STATUS *KEYID *KEYLEN *CREATED *UPDATED$' ||
		fail "$addr: ls header: $(k ls | head -1)"

	k revoke bob srv1
	run k revoke bob srv1
	expect_eq "$addr: revoke twice" "$rc" 0
	case $err in *"already revoked"*) ;; *) fail "revoke twice said: $err" ;; esac
	expect_eq "$addr: revoked" "$(k get bob srv1 | sed -n 's/^status: *//p')" revoked

	if command -v python3 >/dev/null; then
		k ls --json >"$tmp/json"
		python3 - "$tmp/json" <<'PY' || fail "$addr: ls --json"
import json, sys
d = json.load(open(sys.argv[1]))
recs = {r["client"]: r for r in d["keys"]}
assert set(recs) == {"alice", "bob", "carol-12byte"}, recs
assert recs["bob"]["status"] == "revoked"
assert recs["bob"]["keyid"] == 4294967295
assert recs["alice"]["keylen"] == 4
for r in recs.values():
    assert set(r) == {"client", "server", "status", "keyid", "keylen",
                      "created", "updated"}, r
PY
	fi

	k del alice srv1
	run k get alice srv1
	expect_eq "$addr: get after del" "$rc" 1
	case $err in *"no key for client 'alice', server 'srv1'"*) ;; *) fail "get after del said: $err" ;; esac
	run k del alice srv1
	expect_eq "$addr: del twice" "$rc" 1

	# Full: the fourth pair of a store for 4 fits, the fifth does not.
	printf 'x' | k put d1 s -k 1
	printf 'x' | k put d2 s -k 1
	run bash -c "printf x | '$SHMKIT' keys -a '$addr' put d3 s -k 1"
	expect_eq "$addr: put into a full store" "$rc" 1
	case $err in *"store is full"*) ;; *) fail "full store said: $err" ;; esac

	# A second init on the same address refuses.
	run k init
	expect_eq "$addr: init twice" "$rc" 1
	"$SHMKIT" rm "$addr"
	run k ls
	expect_eq "$addr: ls after rm" "$rc" 1
done

# init prints the canonical address, as mk and chan create do: a bare
# /NAME is posix:/NAME.
own_posix "/sk-cli-$$-bare"
expect_eq "init /NAME" "$("$SHMKIT" keys -a "/sk-cli-$$-bare" init --capacity 4)" \
	"posix:/sk-cli-$$-bare"
"$SHMKIT" rm "posix:/sk-cli-$$-bare"
echo "keys round trip ok"
