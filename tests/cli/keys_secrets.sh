#!/bin/bash
# Key bytes never appear in what shmkit keys prints, unless get --reveal
# asks: the output of every command, errors included, is searched for the
# key as raw bytes and as hex (lower and upper case). put takes no key on
# the command line: there is no option for it, and what looks like one is
# refused without being quoted back.
set -eu
. "$(dirname "$0")/lib/common.sh"

addr="posix:/sk-cli-$$-secrets"
own_posix "/sk-cli-$$-secrets"
k() { "$SHMKIT" keys -a "$addr" "$@"; }
# A key that grep can find as text, and its hex.
secret="Zq7-SECRET-$$-x9K"
printf '%s' "$secret" >"$tmp/key"
hex=$(od -An -tx1 "$tmp/key" | tr -d ' \n')
HEX=$(printf '%s' "$hex" | tr a-f A-F)
: >"$tmp/all"

# seen CMD...: run it (stdin from $tmp/in if present), keep its output.
seen() {
	run "$@"
	printf '%s\n%s\n' "$out" "$err" >>"$tmp/all"
	printf '%s\n%s\n' "$out" "$err" >"$tmp/last"
}
clean() { # WHAT: the last output holds no form of the key
	if grep -aqF -e "$secret" -e "$hex" -e "$HEX" "$tmp/last"; then
		fail "$1 printed the key: $(cat "$tmp/last")"
	fi
}

seen k init --capacity 2
clean init
seen bash -c "'$SHMKIT' keys -a '$addr' put alice srv1 --key-id 1 < '$tmp/key'"
expect_eq "put from stdin" "$rc" 0
clean put
seen k get alice srv1
clean get
seen k ls
clean ls
seen k ls --json
clean "ls --json"
seen k ls --raw
clean "ls --raw"

# Attempts to give the key on the command line: refused, exit 2, and the
# value is not echoed.
for args in "--key $secret" "--key=$secret" "--secret $secret" "--hex=$secret" \
	"-K $secret" "$secret" "--key-id $secret" "--key-id=$secret"; do
	# shellcheck disable=SC2086
	seen bash -c "'$SHMKIT' keys -a '$addr' put alice srv1 -k 2 $args < /dev/null"
	expect_eq "put $args" "$rc" 2
	clean "put with the key on the command line ($args)"
done
seen k put "$secret" srv1 -k 1
expect_eq "key as client id" "$rc" 2
clean "put with the key as an id"
seen k get alice "$secret"
expect_eq "get with the key as an id" "$rc" 2
clean "get with the key as an id"

# Input errors: a key too long (the secret inside), hex that is not.
head -c 200 /dev/zero | tr '\0' 'a' >"$tmp/long"
printf '%s' "$secret" >>"$tmp/long"
seen bash -c "'$SHMKIT' keys -a '$addr' put bob srv1 -k 1 < '$tmp/long'"
expect_eq "key too long" "$rc" 2
clean "put of a key too long"
seen bash -c "'$SHMKIT' keys -a '$addr' put bob srv1 -k 1 --hex < '$tmp/key'"
expect_eq "not hex" "$rc" 2
clean "put --hex of text"
# The store full: the error names the store, not the key.
seen bash -c "printf y | '$SHMKIT' keys -a '$addr' put c1 s -k 1"
seen bash -c "'$SHMKIT' keys -a '$addr' put c2 s -k 1 < '$tmp/key'"
expect_eq "full" "$rc" 1
clean "put into a full store"
seen k revoke alice srv1
clean revoke
seen k get alice srv1 --raw
expect_eq "--raw without --reveal" "$rc" 2
clean "get --raw without --reveal"
seen k del nobody srv1
clean "del of a missing record"

# The whole transcript, once more.
cp "$tmp/all" "$tmp/last"
clean "some command"

# The control: --reveal does show it, in hex and raw.
seen k get alice srv1 --reveal
grep -q "^key: *$hex\$" "$tmp/last" || fail "--reveal did not print the hex key"
k get alice srv1 --reveal --raw >"$tmp/raw"
cmp -s "$tmp/raw" "$tmp/key" || fail "--reveal --raw bytes differ"

# After del the bytes are gone from the segment itself.
grep -qaF "$secret" "/dev/shm/sk-cli-$$-secrets" || fail "control: key not in the segment"
k del alice srv1
if grep -qaF "$secret" "/dev/shm/sk-cli-$$-secrets"; then
	fail "the deleted key is still in the segment"
fi
"$SHMKIT" rm "$addr"
echo "keys secrets ok"
