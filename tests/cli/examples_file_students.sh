#!/bin/bash
# examples_file_students.sh: runs file_students_write, then
# file_students_read as a separate process, on a file in a temporary
# directory. Checks the exact output, that the records are in the file
# itself (they persist after the writer exits, mode 0600), and that
# reader --remove deletes the file and nothing else is left.
set -eu

ex=$SHMKIT_BUILD_DIR/examples
if [ ! -x "$ex/file_students_write" ] || [ ! -x "$ex/file_students_read" ]
then
	echo "examples not built (SHMKIT_BUILD_EXAMPLES=OFF)"
	exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/data" "$tmp/out"
file=$tmp/data/students-$$.dat
addr=file:$file

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

expect() { # expect FILE, expected text on stdin
	diff -u - "$1" || fail "unexpected output in $(basename "$1")"
}

"$ex/file_students_write" "$addr" >"$tmp/out/w1"
expect "$tmp/out/w1" <<OUT
wrote 5 students to $addr
OUT

# The writer has exited: the records live in the file. Five records of
# 48 bytes (int32 id, char name[32], int32 age, double score), 0600.
[ -f "$file" ] || fail "no $file after the writer exited"
[ "$(stat -c %s "$file")" = 240 ] ||
	fail "$file has $(stat -c %s "$file") bytes, want 240"
[ "$(stat -c %a "$file")" = 600 ] ||
	fail "$file has mode $(stat -c %a "$file"), want 600"
# The first int32 is the first id, in the machine's byte order.
[ "$(od -An -t d4 -N 4 "$file" | tr -d ' ')" = 1 ] ||
	fail "first id in $file is not 1"
for n in Alice Bob Carol Dave Eve; do
	grep -qa "$n" "$file" || fail "$n is not in $file"
done

cat >"$tmp/out/expected" <<OUT
id 1: Alice, age 20, score 91.5
id 2: Bob, age 21, score 78.0
id 3: Carol, age 19, score 85.5
id 4: Dave, age 22, score 66.0
id 5: Eve, age 20, score 99.5
OUT

"$ex/file_students_read" "$addr" >"$tmp/out/r1"
expect "$tmp/out/r1" <"$tmp/out/expected"

# A second writer refuses to overwrite the file, which stays intact.
sum=$(cksum <"$file")
if "$ex/file_students_write" "$addr" >"$tmp/out/w2" 2>"$tmp/out/e2"; then
	fail "second writer on $addr succeeded"
fi
grep -q "cannot create $addr: File exists" "$tmp/out/e2" ||
	fail "second writer: $(cat "$tmp/out/e2")"
[ "$(cksum <"$file")" = "$sum" ] || fail "second writer changed $file"

# A file too short to hold five records is refused, not read past.
head -c 100 "$file" >"$tmp/data/short"
if "$ex/file_students_read" "file:$tmp/data/short" >"$tmp/out/r3" \
	2>"$tmp/out/e3"; then
	fail "reader accepted a short file"
fi
grep -q "segment is smaller than the requested size" "$tmp/out/e3" ||
	fail "reader of a short file: $(cat "$tmp/out/e3")"
rm "$tmp/data/short"

# Read again (the data persists across readers too), then remove.
"$ex/file_students_read" --remove "$addr" >"$tmp/out/r2"
expect "$tmp/out/r2" <"$tmp/out/expected"
[ ! -e "$file" ] || fail "reader --remove left $file"

# Nothing else was created next to it (no temporary or lock files).
[ -z "$(ls -A "$tmp/data")" ] || fail "left in data dir: $(ls -A "$tmp/data")"
echo "ok"
