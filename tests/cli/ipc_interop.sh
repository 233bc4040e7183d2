#!/bin/bash
# The command and the raw system calls see the same objects: a segment a
# raw shmget program wrote is listed and cat prints exactly its bytes; a
# segment `shmkit mk` made is listed by ipcs -m and removed by ipcrm; a
# POSIX object made by shm_open elsewhere is listed and removed by
# `shmkit rm`.
set -eu
. "$(dirname "$0")/lib/common.sh"

k1=$(key_for 1) k2=$(key_for 2)
own_key "$k1"; own_key "$k2"
name=/sk-cli-$$-interop
own_posix "$name"

# Raw writer -> shmkit ls and cat.
"$RAW/raw_cli_sysv_write" "$k1" 64 "raw bytes from shmget"
"$SHMKIT" ls -t sysv -r -n -o KEY,SIZE -b | grep -qx "$k1 64" ||
	fail "raw segment $k1 not listed"
printf 'raw bytes from shmget' >"$tmp/want"
head -c $((64 - 21)) /dev/zero >>"$tmp/want"
"$SHMKIT" cat "sysv:$k1" >"$tmp/got"
cmp "$tmp/want" "$tmp/got" || fail "cat of a raw segment differs"

# shmkit mk -> ipcs -m lists it with perms 600, ipcrm removes it.
expect_eq "mk prints the address" "$("$SHMKIT" mk "sysv:$k2" --size 4096)" "sysv:$k2"
ipcs -m | awk -v k="$k2" '$1 == k { print $4, $5 }' | grep -qx "600 4096" ||
	fail "ipcs -m does not show sysv:$k2 as 600 4096"
ipcrm -M "$k2"
run "$SHMKIT" stat "sysv:$k2"
expect_eq "stat after ipcrm" "$rc" 1

# shm_open elsewhere -> listed by shmkit ls, removed by shmkit rm.
"$RAW/raw_cli_posix_create" "$name" 1000 "from shm_open"
"$SHMKIT" ls -t posix -r -n -b -o ADDRESS,MODE,SIZE | grep -qx "posix:$name 600 1000" ||
	fail "POSIX object $name not listed"
expect_eq "cat of the POSIX object" "$("$SHMKIT" cat "$name" --length 13)" "from shm_open"
"$SHMKIT" rm "$name"
[ ! -e "/dev/shm/${name#/}" ] || fail "shmkit rm left /dev/shm/$name"
echo "interop ok"
