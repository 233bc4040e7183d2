#!/bin/bash
# Every public header compiles on its own, in strict ISO C11 and C++
# (our users' compilers, not ours), and defines only shmkit_/SHMKIT_ names
# at file scope.
set -eu
inc=$SHMKIT_SOURCE_DIR/include
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
for h in "$inc"/shmkit/*.h "$inc"/shmkit/*/*.h; do
	[ -e "$h" ] || continue
	rel=${h#"$inc"/}
	printf "#include <%s>\n#include <%s>\nint shmkit_header_test;\n" "$rel" "$rel" >"$tmp/t.c"
	if ! cc -std=c11 -pedantic -Wall -Wextra -Werror -I"$inc" \
		-c "$tmp/t.c" -o "$tmp/t.o" 2>"$tmp/err"; then
		echo "FAIL (C11): $rel"; cat "$tmp/err"; fail=1
	fi
	if command -v c++ >/dev/null; then
		cp "$tmp/t.c" "$tmp/t.cc"
		if ! c++ -std=c++11 -Wall -Wextra -Werror -I"$inc" \
			-c "$tmp/t.cc" -o "$tmp/t.o" 2>"$tmp/err"; then
			echo "FAIL (C++11): $rel"; cat "$tmp/err"; fail=1
		fi
	fi
done
[ $fail -eq 0 ] && echo "all public headers are self-contained"
exit $fail
