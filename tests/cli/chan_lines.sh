#!/bin/bash
# shmkit chan send with lines of standard input, on a single-sender
# channel where the lines already read go as one batch: every line
# arrives once, in order, whatever the delimiter and however the input
# ends; a line longer than a read (64 KiB) still goes whole; a line too
# long for the channel stops the send after what came before, one of
# exactly msg-max does not; and a line whose successor is slow in coming
# (whole or partial) is not held back meanwhile.
set -eu
. "$(dirname "$0")/lib/common.sh"

ch=/sk-cli-$$-lines
own_posix "$ch"
T="timeout 20"

"$SHMKIT" chan create "$ch" --msg-max 200K --slots 64 >/dev/null

# Many lines, received by another process as they are sent.
seq 1 20000 >"$tmp/seq"
"$SHMKIT" chan recv "$ch" -n 20000 --timeout 10 >"$tmp/got" &
rpid=$!
on_exit "kill $rpid"
$T "$SHMKIT" chan send "$ch" <"$tmp/seq"
wait_exit "recv of 20000 lines" $rpid 20
expect_eq "recv status" "$st" 0
cmp "$tmp/seq" "$tmp/got" || fail "20000 lines differ"

# Empty lines, and a last line without its newline.
printf 'a\n\nb\nlast' | $T "$SHMKIT" chan send "$ch"
run $T "$SHMKIT" chan recv "$ch" -n 4 --timeout 5
expect_eq "empty and unterminated lines" "$out" "a

b
last"

# NUL-terminated records (-z), the last one unterminated.
printf 'x y\0\0z' | $T "$SHMKIT" chan send "$ch" -z
run $T "$SHMKIT" chan recv "$ch" -n 3 --timeout 5
expect_eq "NUL records" "$out" "x y

z"

# A line longer than one read of 64 KiB, within msg-max: whole.
head -c 150000 /dev/zero | tr '\0' 'q' >"$tmp/long"
echo >>"$tmp/long"
echo short >>"$tmp/long"
$T "$SHMKIT" chan send "$ch" <"$tmp/long"
$T "$SHMKIT" chan recv "$ch" -n 2 --timeout 5 >"$tmp/long.out"
cmp "$tmp/long" "$tmp/long.out" || fail "a 150000-byte line changed"

# Too long for the channel: what came before is sent, nothing after.
{ echo first; head -c 300000 /dev/zero | tr '\0' 'q'; printf '\nafter\n'; } \
	>"$tmp/toolong"
run $T "$SHMKIT" chan send "$ch" <"$tmp/toolong"
expect_eq "too long: status" "$rc" 1
case $err in
*"a line is longer than the channel's msg-max of 204800 bytes (1 sent)"*) ;;
*) fail "too long: stderr '$err'" ;;
esac
run $T "$SHMKIT" chan recv "$ch" -n 2 --timeout 0.5
expect_eq "too long: what arrived" "$out" "first"

# A line whose next one is slow to come is published before the read
# that waits for it: the receiver has it long before the sender ends.
{ echo early; sleep 3; echo late; } | $T "$SHMKIT" chan send "$ch" &
spid=$!
on_exit "kill $spid"
run $T "$SHMKIT" chan recv "$ch" -n 1 --timeout 2
expect_eq "early line, before the late one is written" "$out" "early"
wait_exit "slow sender" $spid 10
run $T "$SHMKIT" chan recv "$ch" -n 1 --timeout 5
expect_eq "late line" "$out" "late"
# The same when a partial line follows: the whole ones before it are
# published before the read that waits for its end.
{ printf 'one\ntwo\npart'; sleep 3; printf 'ial\n'; } |
	$T "$SHMKIT" chan send "$ch" &
spid=$!
on_exit "kill $spid"
run $T "$SHMKIT" chan recv "$ch" -n 2 --timeout 2
expect_eq "whole lines before a partial one" "$out" "one
two"
wait_exit "slow partial sender" $spid 10
run $T "$SHMKIT" chan recv "$ch" -n 1 --timeout 5
expect_eq "the partial line, completed" "$out" "partial"

# A line of exactly msg-max (204800 bytes) whose newline comes in a later
# read goes whole; one byte more is too long.
{ head -c 204800 /dev/zero | tr '\0' 'm'; sleep 0.3; printf '\nnext\n'; } |
	$T "$SHMKIT" chan send "$ch"
$T "$SHMKIT" chan recv "$ch" -n 2 --timeout 5 >"$tmp/exact.out"
{ head -c 204800 /dev/zero | tr '\0' 'm'; printf '\nnext\n'; } >"$tmp/exact"
cmp "$tmp/exact" "$tmp/exact.out" || fail "a line of exactly msg-max changed"
{ head -c 204801 /dev/zero | tr '\0' 'm'; echo; } >"$tmp/over"
run $T "$SHMKIT" chan send "$ch" <"$tmp/over"
expect_eq "msg-max + 1: status" "$rc" 1
case $err in *"longer than the channel's msg-max of 204800 bytes (0 sent)"*) ;;
*) fail "msg-max + 1: stderr '$err'" ;; esac
run $T "$SHMKIT" chan recv "$ch" -n 1 --timeout 0.3
expect_eq "msg-max + 1: nothing sent" "$rc" 1
# Standard input closed: no lines, not the channel's own bytes (the
# segment's descriptor would otherwise be 0). Standard output closed: recv
# fails and leaves the message in the channel.
run $T "$SHMKIT" chan send "$ch" <&-
expect_eq "stdin closed: status" "$rc" 0
$T "$SHMKIT" chan send "$ch" kept
set +e
$T "$SHMKIT" chan recv "$ch" -n 1 --timeout 2 >&- 2>"$tmp/err"
rc=$?
set -e
expect_eq "stdout closed: status" "$rc" 1
expect_eq "stdout closed: says so" "$(cat "$tmp/err")" \
	"shmkit chan recv: cannot write to standard output: it is closed"
run $T "$SHMKIT" chan recv "$ch" -n 2 --timeout 0.5
expect_eq "after both: what is left" "$out" "kept"
echo "chan lines ok"
