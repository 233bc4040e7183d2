#!/bin/bash
# A file under /dev/shm that claims to be a shmkit object (right magic,
# garbage after it) is listed as corrupt, not crashed on; a sound header
# with a dead creator and no users is "orphaned"; random bytes are just a
# POSIX object.
set -eu
. "$(dirname "$0")/lib/common.sh"

bad=sk-cli-$$-bad good=sk-cli-$$-orphan plain=sk-cli-$$-plain
own_posix "/$bad"; own_posix "/$good"; own_posix "/$plain"

# magic "SHMK", then garbage kind/state/size.
{ printf 'SHMK\xff\x7f\x01\x00'; head -c 4088 /dev/urandom; } >"/dev/shm/$bad"
# A sound header: kind chan (1), version 2, this build's fingerprint,
# state ready (2), size 4096, creator pid 4194303 (the top of the pid
# range, not running here) with start time 0.
fp=$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' 8 8 8 8)
{ printf 'SHMK\x01\x00\x02\x00'; printf "$fp"; printf '\x02\x00\x00\x00'
  printf '\x00\x10\x00\x00\x00\x00\x00\x00'; printf '\xff\xff\x3f\x00\x00\x00\x00\x00'
  head -c 4064 /dev/zero; } >"/dev/shm/$good"
head -c 4096 /dev/urandom >"/dev/shm/$plain"
chmod 600 "/dev/shm/$bad" "/dev/shm/$good" "/dev/shm/$plain"

"$SHMKIT" ls -t posix -r -n -o ADDRESS,KIND,HEALTH >"$tmp/ls"
grep -qx "posix:/$bad ? corrupt" "$tmp/ls" || fail "corrupt object: $(grep "$bad" "$tmp/ls")"
grep -qx "posix:/$good chan orphaned" "$tmp/ls" || fail "orphan: $(grep "$good" "$tmp/ls")"
grep -qx "posix:/$plain" "$tmp/ls" || grep -q "^posix:/$plain *$" "$tmp/ls" ||
	fail "plain data shown as an object: $(grep "$plain" "$tmp/ls")"
run "$SHMKIT" stat "/$bad"
expect_eq "stat of a corrupt object" "$rc" 0
case $out in *corrupt*) ;; *) fail "stat does not say corrupt: $out" ;; esac
"$SHMKIT" ls -t shmkit -r -n -o ADDRESS,KIND,VERSION,HEALTH | grep -qx "posix:/$good chan 2 orphaned" ||
	fail "-t shmkit misses $good or its version"
"$SHMKIT" ls -t shmkit -r -n -o ADDRESS | grep -q "$plain" && fail "-t shmkit lists plain data"

# A name with control bytes is printed escaped, never raw (it could forge
# lines or move the cursor); a POSIX semaphore is listed as such.
odd=$(printf 'sk-cli-%s-odd\nline\033[2J' $$)
sem=sem.sk-cli-$$-sem
on_exit "rm -f '/dev/shm/$odd' /dev/shm/$sem"
: >"/dev/shm/$odd"
head -c 32 /dev/zero >"/dev/shm/$sem"
"$SHMKIT" ls -r -n -o TYPE,ADDRESS >"$tmp/ls"
grep -qxF "posix posix:/sk-cli-$$-odd\x0aline\x1b[2J" "$tmp/ls" ||
	fail "odd name not escaped: $(grep -a odd "$tmp/ls" | od -c | head -3)"
grep -c "line" "$tmp/ls" | grep -qx 1 || fail "odd name split a line"
grep -qxF "sem posix:/$sem" "$tmp/ls" || fail "semaphore not listed as sem"
echo "corrupt object ok"
