#!/bin/bash
# shmkit chan meets bad input with a message naming the object and the
# reason: exit 2 for a bad command line, 1 when the work fails (a missing
# channel, a segment that is no channel, a corrupt one, a full one, a
# message too long, a busy single place), and never a crash or a hang.
set -eu
. "$(dirname "$0")/lib/common.sh"

expect_fail() { # STATUS PATTERN CMD...
	local want=$1 pat=$2
	shift 2
	run timeout 20 "$@"
	[ "$rc" = "$want" ] || fail "$*: exit $rc, want $want (stderr: $err)"
	case $err in *"$pat"*) ;; *) fail "$*: stderr '$err' lacks '$pat'" ;; esac
}

ch=/sk-cli-$$-chan raw=/sk-cli-$$-raw bad=/sk-cli-$$-bad new=/sk-cli-$$-new
spsc=/sk-cli-$$-spsc missing=/sk-cli-$$-missing ks=/sk-cli-$$-keys
kks=$(key_for 1)
for n in "$ch" "$raw" "$bad" "$new" "$spsc" "$missing" "$ks"; do own_posix "$n"; done
own_key "$kks"

# Command lines.
expect_fail 2 "missing COMMAND" "$SHMKIT" chan
expect_fail 2 "unknown command 'frob'" "$SHMKIT" chan frob
for sub in create send recv stat; do
	expect_fail 2 "shmkit chan $sub: missing ADDRESS" "$SHMKIT" chan $sub
	expect_fail 2 "unrecognized option '--nope'" "$SHMKIT" chan $sub "$ch" --nope
	run "$SHMKIT" chan $sub --help
	expect_eq "chan $sub --help" "$rc" 0
	case $out in *Examples:*) ;; *) fail "chan $sub --help has no examples" ;; esac
done
expect_fail 2 "unknown pattern: 'fifo'" "$SHMKIT" chan create "$new" --pattern fifo
expect_fail 2 "unknown policy: 'drop'" "$SHMKIT" chan create "$new" --policy drop
expect_fail 2 "--msg-max: '0'" "$SHMKIT" chan create "$new" --msg-max 0
expect_fail 2 "--msg-max: '2G'" "$SHMKIT" chan create "$new" --msg-max 2G
expect_fail 2 "--msg-max: '99999999999999999999'" "$SHMKIT" chan create "$new" \
	--msg-max 99999999999999999999
expect_fail 2 "--slots: 'x'" "$SHMKIT" chan create "$new" --slots x
expect_fail 2 "--slots: '0'" "$SHMKIT" chan create "$new" --slots 0
expect_fail 2 "--peers: '5000'" "$SHMKIT" chan create "$new" --peers 5000
# Every pattern needs a sender's and a receiver's place.
expect_fail 2 "--peers: '1' is not a number from 2 to 4096" "$SHMKIT" chan create \
	"$new" --peers 1
# An spsc channel has exactly a sender's and a receiver's place.
expect_fail 2 "--peers: an spsc channel has one sender and one receiver" \
	"$SHMKIT" chan create "$new" --peers 3 --pattern spsc
expect_fail 2 "--peers: an spsc channel" "$SHMKIT" chan create "$new" --peers 3
expect_fail 2 "invalid mode" "$SHMKIT" chan create "$new" --mode 0
expect_fail 2 "needs --pattern broadcast" "$SHMKIT" chan create "$new" \
	--pattern mpmc --policy overwrite
expect_fail 2 "one ADDRESS" "$SHMKIT" chan create "$new" "$ch"
expect_fail 2 "--count: '0' is not a number from 1 to" "$SHMKIT" chan recv \
	"$ch" --count 0
expect_fail 2 "--count" "$SHMKIT" chan recv "$ch" --count -1
expect_fail 2 "--timeout: 'soon'" "$SHMKIT" chan recv "$ch" --timeout soon
expect_fail 2 "--timeout: '-1'" "$SHMKIT" chan send "$ch" --timeout -1 x
expect_fail 2 "--timeout: '1.'" "$SHMKIT" chan recv "$ch" --timeout 1.
expect_fail 2 "not both" "$SHMKIT" chan send "$ch" --file /dev/null x
expect_fail 2 "not both" "$SHMKIT" chan recv "$ch" --follow -n 2
[ ! -e "/dev/shm$new" ] || fail "a refused create left $new behind"

# Addresses.
expect_fail 1 "shmkit chan create: bogus:1: not an address" "$SHMKIT" chan create bogus:1
expect_fail 1 "memfd:x: a channel needs a name" "$SHMKIT" chan create memfd:x
for sub in send recv stat; do
	expect_fail 1 "shmkit chan $sub: $missing: no such segment" \
		"$SHMKIT" chan $sub "$missing"
done
[ ! -e "/dev/shm$missing" ] || fail "send or recv created $missing"

# Another kind of shmkit object is named as such, read through an fd
# (POSIX) or a read-only attach (System V).
for a in "posix:$ks" "sysv:$kks"; do
	"$SHMKIT" keys -a "$a" --no-mlock init --capacity 4 >/dev/null
	for sub in send recv stat; do
		expect_fail 1 "shmkit chan $sub: $a: a keys object, not a channel" \
			"$SHMKIT" chan $sub "$a" </dev/null
	done
done

# A segment that is no channel, and one whose header is garbage.
"$SHMKIT" mk "$raw" --size 4096 >/dev/null
for sub in send recv stat; do
	expect_fail 1 "shmkit chan $sub: $raw: not a channel" "$SHMKIT" chan $sub "$raw"
done
{ printf 'SHMK\x01\x00\x01\x00'; head -c 8184 /dev/urandom; } >"/dev/shm$bad"
chmod 600 "/dev/shm$bad"
for args in "send $bad --timeout 0.1 x" "recv $bad --timeout 0.1" "stat $bad"; do
	run timeout 20 "$SHMKIT" chan $args
	expect_eq "chan $args on garbage" "$rc" 1
	case $err in "shmkit chan ${args%% *}: $bad: "?*) ;;
	*) fail "chan $args: '$err'" ;; esac
done

# An existing channel, a message too long, a full channel.
"$SHMKIT" chan create "$ch" --pattern mpmc --msg-max 16 --slots 2 >/dev/null
expect_fail 1 "shmkit chan create: $ch: a segment exists there already (see 'shmkit chan stat $ch'" \
	"$SHMKIT" chan create "$ch"
expect_fail 1 "message 2 is longer than the channel's msg-max of 16 bytes (1 sent)" \
	"$SHMKIT" chan send "$ch" short 'this is far too long'
head -c 17 /dev/zero >"$tmp/17"
expect_fail 1 "$tmp/17 is longer than" "$SHMKIT" chan send "$ch" --file "$tmp/17"
expect_fail 1 "nosuchfile" "$SHMKIT" chan send "$ch" --file "$tmp/nosuchfile"
expect_fail 1 "chan send: /nosuch-$$: No such file or directory" \
	"$SHMKIT" chan send "$ch" --file "/nosuch-$$"
expect_fail 1 "channel full (1 sent)" "$SHMKIT" chan send "$ch" --nonblock a b c
expect_fail 1 "channel full, timed out (0 sent)" "$SHMKIT" chan send "$ch" \
	--timeout 0.1 d
run "$SHMKIT" chan recv "$ch" -n 2
expect_eq "what was sent before the failures" "$out" "short
a"

# The same on an SPSC channel, where the arguments but the last go with
# SHMKIT_CHAN_MORE: what was held back is published before a full channel
# fails the send, and at the close after a message too long.
"$SHMKIT" rm "$ch" >/dev/null
"$SHMKIT" chan create "$ch" --msg-max 16 --slots 4 >/dev/null
expect_fail 1 "message 3 is longer than the channel's msg-max of 16 bytes (2 sent)" \
	"$SHMKIT" chan send "$ch" one two 'this is far too long'
expect_fail 1 "channel full (2 sent)" "$SHMKIT" chan send "$ch" --nonblock 3 4 5
run "$SHMKIT" chan recv "$ch" -n 4 --timeout 5
expect_eq "batched arguments, then the failures" "$out" "one
two
3
4"

# SPSC: the single receiver place is taken by a live process.
"$SHMKIT" chan create "$spsc" >/dev/null
"$SHMKIT" chan recv "$spsc" --timeout 10 >/dev/null &
rp=$!
on_exit "kill $rp"
for ((i = 0; i < 200; i++)); do
	"$SHMKIT" chan stat "$spsc" | grep -q "1 alive" && break
	sleep 0.05
done
expect_fail 1 "shmkit chan recv: $spsc: busy: the channel's single receiver place is held by process $rp" \
	"$SHMKIT" chan recv "$spsc" --timeout 0.1
"$SHMKIT" chan send "$spsc" done
wait $rp || fail "the SPSC receiver failed"
echo "chan errors ok"
