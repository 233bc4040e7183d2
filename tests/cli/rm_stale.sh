#!/bin/bash
# shmkit rm --stale removes the shmkit objects no living process uses
# (nobody maps it, its creator is dead, no channel peer alive) that hold
# no data, and nothing else: a channel in use, a channel with a message
# waiting for its receiver, a key store with records and raw segments of
# other programs stay (ls calls the unused ones with data "idle"), and
# --dry-run removes nothing. The removals name their objects, so this test
# never touches what other tests running at the same time own; the scan
# of the whole host is exercised with --dry-run only.
set -eu
. "$(dirname "$0")/lib/common.sh"

stale=/sk-cli-$$-stale used=/sk-cli-$$-used killed=/sk-cli-$$-killed
raw=/sk-cli-$$-raw kstale=$(key_for 1) kraw=$(key_for 2)
junk=/sk-cli-$$-junk full=/sk-cli-$$-full drained=/sk-cli-$$-drained
keys=/sk-cli-$$-keys ekeys=/sk-cli-$$-ekeys half=/sk-cli-$$-half
for n in "$stale" "$used" "$killed" "$raw" "$junk" "$full" "$drained" \
	"$keys" "$ekeys" "$half"; do own_posix "$n"; done
own_key "$kstale"; own_key "$kraw"

# Each channel's creator, a shmkit process, has exited when it returns.
for c in "$stale" "$used" "$killed" "sysv:$kstale"; do
	"$SHMKIT" chan create "$c" --pattern mpmc >/dev/null
done
# Data nobody uses yet: a message waiting for a receiver that has not
# started, records of a key store whose writer has exited. Emptied or
# never written, the same objects are stale.
"$SHMKIT" chan create "$full" >/dev/null
"$SHMKIT" chan send "$full" waiting
"$SHMKIT" chan create "$drained" >/dev/null
"$SHMKIT" chan send "$drained" taken
"$SHMKIT" chan recv "$drained" --timeout 5 >/dev/null
"$SHMKIT" keys -a "posix:$keys" --no-mlock init --capacity 16 >/dev/null
printf x | "$SHMKIT" keys -a "posix:$keys" --no-mlock put alice srv1 --key-id 1
"$SHMKIT" keys -a "posix:$ekeys" --no-mlock init --capacity 16 >/dev/null
"$SHMKIT" mk "$raw" --size 4096 >/dev/null
"$SHMKIT" mk "sysv:$kraw" --size 4096 >/dev/null
# A raw segment that looks like nothing at all is still not ours to take.
head -c 4096 /dev/zero >"/dev/shm$raw"
# A sound header (a channel of this build: version 2; creator pid 4194303,
# which is not running) on a body of zeros: a channel nobody can use, so
# stale.
fp=$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' 8 8 8 8)
{ printf 'SHMK\x01\x00\x02\x00'; printf "$fp"; printf '\x02\x00\x00\x00'
  printf '\x00\x10\x00\x00\x00\x00\x00\x00'; printf '\xff\xff\x3f\x00\x00\x00\x00\x00'
  head -c 4064 /dev/zero; } >"/dev/shm$junk"
# The same header for a table still in state init (1): its creator died
# making it, so whatever it holds is nobody's data.
{ printf 'SHMK\x02\x00\x01\x00'; printf "$fp"; printf '\x01\x00\x00\x00'
  printf '\x00\x10\x00\x00\x00\x00\x00\x00'; printf '\xff\xff\x3f\x00\x00\x00\x00\x00'
  head -c 4064 /dev/urandom; } >"/dev/shm$half"
chmod 600 "/dev/shm$junk" "/dev/shm$half"

"$SHMKIT" chan recv "$used" --timeout 20 >/dev/null &
user=$!
"$SHMKIT" chan recv "$killed" --timeout 20 >/dev/null &
victim=$!
on_exit "kill -9 $user $victim"
for ((i = 0; i < 200; i++)); do
	"$SHMKIT" chan stat "$used" | grep -q "1 alive" &&
		"$SHMKIT" chan stat "$killed" | grep -q "1 alive" && break
	sleep 0.05
done
{ kill -9 $victim && wait $victim; } 2>/dev/null || true

all=("$stale" "$used" "$killed" "$raw" "$junk" "$full" "$drained" "$keys"
     "$ekeys" "$half" "sysv:$kstale" "sysv:$kraw")
exists() {
	local a
	for a in "$stale" "$used" "$killed" "$raw" "$junk" "$full" "$drained" \
		"$keys" "$ekeys" "$half"; do
		[ -e "/dev/shm$a" ] || fail "$1: $a is gone"
	done
	for a in "$kstale" "$kraw"; do
		ipcs -m | grep -qi "^$a " || fail "$1: sysv:$a is gone"
	done
}

# ls tells the unused objects with data from the empty ones.
"$SHMKIT" ls -t posix -r -n -o ADDRESS,HEALTH >"$tmp/ls"
for a in "$full" "$keys"; do
	grep -qx "posix:$a idle" "$tmp/ls" || fail "ls: $a: $(grep -- "$a" "$tmp/ls")"
done
for a in "$stale" "$drained" "$ekeys" "$half"; do
	grep -qx "posix:$a orphaned" "$tmp/ls" || fail "ls: $a: $(grep -- "$a" "$tmp/ls")"
done

# --dry-run over the whole host lists ours that are stale, removes nothing.
run "$SHMKIT" rm --stale --dry-run
expect_eq "dry run status" "$rc" 0
for a in "posix:$stale" "posix:$killed" "posix:$junk" "posix:$drained" \
	"sysv:$kstale"; do
	grep -qx "would remove $a (chan)" "$tmp/out" || fail "dry run misses $a: $out"
done
grep -qx "would remove posix:$ekeys (keys)" "$tmp/out" ||
	fail "dry run misses $ekeys: $out"
for a in "$used" "$raw" "$kraw" "$full" "$keys"; do
	grep -q -- "$a" "$tmp/out" && fail "dry run would remove $a: $out"
done
exists "after --dry-run"

run "$SHMKIT" rm --stale -n "${all[@]}"
expect_eq "named dry run status" "$rc" 0
expect_eq "named dry run" "$out" "would remove posix:$stale (chan)
would remove posix:$killed (chan)
would remove posix:$junk (chan)
would remove posix:$drained (chan)
would remove posix:$ekeys (keys)
would remove posix:$half (table)
would remove sysv:$kstale (chan)"
exists "after a named --dry-run"

# The real thing, on our objects only.
run "$SHMKIT" rm --stale "${all[@]}"
expect_eq "rm --stale status" "$rc" 0
expect_eq "rm --stale output" "$out" "removed posix:$stale (chan)
removed posix:$killed (chan)
removed posix:$junk (chan)
removed posix:$drained (chan)
removed posix:$ekeys (keys)
removed posix:$half (table)
removed sysv:$kstale (chan)"
case $err in *"$used: kept: mapped by 1 process"*) ;; *) fail "used: $err" ;; esac
case $err in *"$raw: kept: not a shmkit object"*) ;; *) fail "raw: $err" ;; esac
case $err in *"$full: kept: it holds 1 pending message"*) ;; *) fail "full: $err" ;; esac
case $err in *"$keys: kept: it holds 1 record"*) ;; *) fail "keys: $err" ;; esac
for a in "$stale" "$killed" "$junk" "$drained" "$ekeys" "$half"; do
	[ ! -e "/dev/shm$a" ] || fail "$a survived"
done
[ -e "/dev/shm$full" ] || fail "the channel with a pending message was removed"
[ -e "/dev/shm$keys" ] || fail "the key store with a record was removed"
"$SHMKIT" chan recv "$full" --timeout 5 >"$tmp/msg" || fail "recv from $full"
expect_eq "the pending message" "$(cat "$tmp/msg")" waiting
"$SHMKIT" keys -a "posix:$keys" --no-mlock ls | grep -q alice ||
	fail "the record of $keys is gone"
ipcs -m | grep -qi "^$kstale " && fail "sysv:$kstale survived"
[ -e "/dev/shm$used" ] || fail "the channel in use was removed"
[ -e "/dev/shm$raw" ] || fail "the raw POSIX segment was removed"
ipcs -m | grep -qi "^$kraw " || fail "the raw System V segment was removed"

# The receiver still works on the channel that was kept.
"$SHMKIT" chan send "$used" still-here
wait $user || fail "receiver of the kept channel failed"

# Usage.
run "$SHMKIT" rm --dry-run "$raw"
expect_eq "--dry-run without --stale" "$rc" 2
run "$SHMKIT" rm --stale "/sk-cli-$$-missing"
expect_eq "--stale of a missing object" "$rc" 1
case $err in *"no such segment"*) ;; *) fail "missing: $err" ;; esac
echo "rm stale ok"
