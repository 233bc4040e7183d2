#!/bin/bash
# The suite's last word: did it leave `ipcs -m` and /dev/shm as it found
# them? "snapshot FILE" records both before the first test, "check FILE"
# compares after the last one and prints what differs.
set -eu
mode=$1 file=$2

state() {
	# System V: key, id, owner, perms, size (not nattch or times, which
	# other processes on the machine may change).
	awk 'NR > 1 { print "sysv", $1, $2, $3, $4, $8 }' /proc/sysvipc/shm | sort
	find /dev/shm -mindepth 1 -maxdepth 1 -printf 'posix %f\n' | sort
}

case $mode in
snapshot)
	state >"$file"
	echo "recorded $(wc -l <"$file") objects"
	;;
check)
	if ! diff -u "$file" <(state); then
		echo "the test suite changed ipcs -m or /dev/shm (above)" >&2
		exit 1
	fi
	echo "ipcs -m and /dev/shm are as the suite found them"
	;;
*)
	echo "usage: $0 snapshot|check FILE" >&2
	exit 2
	;;
esac
