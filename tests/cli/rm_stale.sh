#!/bin/bash
# shmkit rm --stale removes the shmkit objects no living process uses
# (nobody maps it, its creator is dead, no channel peer alive) and nothing
# else: a channel in use and raw segments of other programs stay, and
# --dry-run removes nothing. The removals name their objects, so this test
# never touches what other tests running at the same time own; the scan
# of the whole host is exercised with --dry-run only.
set -eu
. "$(dirname "$0")/lib/common.sh"

stale=/sk-cli-$$-stale used=/sk-cli-$$-used killed=/sk-cli-$$-killed
raw=/sk-cli-$$-raw kstale=$(key_for 1) kraw=$(key_for 2)
junk=/sk-cli-$$-junk
for n in "$stale" "$used" "$killed" "$raw" "$junk"; do own_posix "$n"; done
own_key "$kstale"; own_key "$kraw"

# Each channel's creator, a shmkit process, has exited when it returns.
for c in "$stale" "$used" "$killed" "sysv:$kstale"; do
	"$SHMKIT" chan create "$c" --pattern mpmc >/dev/null
done
"$SHMKIT" mk "$raw" --size 4096 >/dev/null
"$SHMKIT" mk "sysv:$kraw" --size 4096 >/dev/null
# A raw segment that looks like nothing at all is still not ours to take.
head -c 4096 /dev/zero >"/dev/shm$raw"
# A sound header (a channel of this build, creator pid 4194303, which is
# not running) on a body of zeros: a channel nobody can use, so stale.
fp=$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' 8 8 8 8)
{ printf 'SHMK\x01\x00\x01\x00'; printf "$fp"; printf '\x02\x00\x00\x00'
  printf '\x00\x10\x00\x00\x00\x00\x00\x00'; printf '\xff\xff\x3f\x00\x00\x00\x00\x00'
  head -c 4064 /dev/zero; } >"/dev/shm$junk"
chmod 600 "/dev/shm$junk"

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

all=("$stale" "$used" "$killed" "$raw" "$junk" "sysv:$kstale" "sysv:$kraw")
exists() {
	local a
	for a in "$stale" "$used" "$killed" "$raw" "$junk"; do
		[ -e "/dev/shm$a" ] || fail "$1: $a is gone"
	done
	for a in "$kstale" "$kraw"; do
		ipcs -m | grep -qi "^$a " || fail "$1: sysv:$a is gone"
	done
}

# --dry-run over the whole host lists ours that are stale, removes nothing.
run "$SHMKIT" rm --stale --dry-run
expect_eq "dry run status" "$rc" 0
for a in "posix:$stale" "posix:$killed" "posix:$junk" "sysv:$kstale"; do
	grep -qx "would remove $a (chan)" "$tmp/out" || fail "dry run misses $a: $out"
done
for a in "$used" "$raw" "$kraw"; do
	grep -q -- "$a" "$tmp/out" && fail "dry run would remove $a: $out"
done
exists "after --dry-run"

run "$SHMKIT" rm --stale -n "${all[@]}"
expect_eq "named dry run status" "$rc" 0
expect_eq "named dry run" "$out" "would remove posix:$stale (chan)
would remove posix:$killed (chan)
would remove posix:$junk (chan)
would remove sysv:$kstale (chan)"
exists "after a named --dry-run"

# The real thing, on our objects only.
run "$SHMKIT" rm --stale "${all[@]}"
expect_eq "rm --stale status" "$rc" 0
expect_eq "rm --stale output" "$out" "removed posix:$stale (chan)
removed posix:$killed (chan)
removed posix:$junk (chan)
removed sysv:$kstale (chan)"
case $err in *"$used: kept: mapped by 1 process"*) ;; *) fail "used: $err" ;; esac
case $err in *"$raw: kept: not a shmkit object"*) ;; *) fail "raw: $err" ;; esac
[ ! -e "/dev/shm$stale" ] || fail "$stale survived"
[ ! -e "/dev/shm$killed" ] || fail "$killed survived"
[ ! -e "/dev/shm$junk" ] || fail "$junk survived"
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
