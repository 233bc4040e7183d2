#!/bin/bash
# `shmkit mk sysv` picks a free random key, as ipcmk -M does; an existing
# segment is accepted unless --excl; limits reports the kernel's values.
set -eu
. "$(dirname "$0")/lib/common.sh"

addr=$("$SHMKIT" mk sysv --size 8K)
case $addr in sysv:0x????????) ;; *) fail "mk sysv printed '$addr'" ;; esac
own_key "${addr#sysv:}"
ipcs -m | awk -v k="${addr#sysv:}" '$1 == k { print $5 }' | grep -qx 8192 ||
	fail "ipcs -m does not show $addr with 8192 bytes"
run "$SHMKIT" mk "$addr" --size 4K
expect_eq "mk of an existing, large enough segment" "$rc" 0
case $err in *"already existed"*) ;; *) fail "mk did not say it existed: $err" ;; esac
run "$SHMKIT" mk "$addr" --size 4K --excl
expect_eq "mk --excl of an existing segment" "$rc" 1
case $err in *"File exists"*) ;; *) fail "mk --excl said: $err" ;; esac
run "$SHMKIT" mk "$addr" --size 16K
expect_eq "mk of an existing, too small segment" "$rc" 1
"$SHMKIT" rm "$addr"

"$SHMKIT" limits -b >"$tmp/limits"
grep -q "max segment size *$(cat /proc/sys/kernel/shmmax)$" "$tmp/limits" ||
	fail "limits: shmmax: $(cat "$tmp/limits")"
grep -q "max number of segments *$(cat /proc/sys/kernel/shmmni) " "$tmp/limits" ||
	fail "limits: shmmni"
echo "mk/limits ok"
