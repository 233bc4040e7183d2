#!/bin/bash
# The README's C example must compile against the library and run.
set -eu
src=$SHMKIT_SOURCE_DIR build=$SHMKIT_BUILD_DIR
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The first ```c block of the README.
awk '/^```c$/ { on = 1; next } /^```$/ { if (on) exit } on' \
	"$src/README.md" >"$tmp/tour.c"
[ -s "$tmp/tour.c" ] || { echo "no C block in README.md"; exit 1; }
# The example uses a fixed name; give this run its own.
sed -i "s|/tour-demo|/sk-readme-$$|g" "$tmp/tour.c"

# A sanitizer build of the library needs its runtime in the program too.
san=
if readelf -d "$build/src/libshmkit.so" | grep -q 'NEEDED.*libasan'; then
	san="-fsanitize=address,undefined"
elif readelf -d "$build/src/libshmkit.so" | grep -q 'NEEDED.*libtsan'; then
	san="-fsanitize=thread"
fi
# shellcheck disable=SC2086
cc -std=c11 -Wall -Wextra -Werror $san -I"$src/include" "$tmp/tour.c" \
	-L"$build/src" -lshmkit -Wl,-rpath,"$build/src" -o "$tmp/tour"
out=$("$tmp/tour")
[ "$out" = "reader sees: hello, world" ] || {
	echo "unexpected output: $out"
	exit 1
}
[ ! -e "/dev/shm/sk-readme-$$" ] || { echo "segment left behind"; exit 1; }
echo "README example compiles and prints: $out"
