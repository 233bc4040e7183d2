#!/bin/bash
# install_tree.sh: installs the build into a temporary prefix and uses it
# the way a consumer would. Checks the files (headers, libshmkit.so.0 and
# its SONAME, the static library, shmkit.pc, the CMake package, the
# example sources), that the shared library exports only shmkit_*
# symbols, then builds programs against the installed tree alone:
#   (a) the installed examples, with cc and `pkg-config --cflags --libs`,
#       run with LD_LIBRARY_PATH, and one linked statically;
#   (b) a tiny CMake project using find_package(shmkit) and
#       shmkit::shmkit (and shmkit::shmkit_static).
set -eu

for tool in cmake pkg-config cc readelf nm; do
	if ! command -v "$tool" >/dev/null; then
		echo "$tool not found"
		exit 77
	fi
done

src=$SHMKIT_SOURCE_DIR
tmp=$(mktemp -d)
prefix=$tmp/prefix
posix_name=shmkit-install-$$

cleanup() {
	rm -f "/dev/shm/$posix_name" "/dev/shm/$posix_name-static"
	rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# run LOG CMD...: runs CMD with its output in LOG, shown on failure.
run() {
	local log=$1
	shift
	if ! "$@" >"$log" 2>&1; then
		cat "$log" >&2
		fail "$*"
	fi
}

run "$tmp/install.log" cmake --install "$SHMKIT_BUILD_DIR" --prefix "$prefix"

# Headers: every public header, byte for byte.
for h in "$src"/include/shmkit/*.h; do
	cmp -s "$h" "$prefix/include/shmkit/${h##*/}" ||
		fail "include/shmkit/${h##*/} missing or different"
done

# The library directory is wherever shmkit.pc went (lib, lib64 or
# lib/<multiarch> depending on the system and prefix).
pc=$(find "$prefix" -path '*/pkgconfig/shmkit.pc' | head -n 1)
[ -n "$pc" ] || fail "no pkgconfig/shmkit.pc under the prefix"
libdir=$(dirname "$(dirname "$pc")")

[ -L "$libdir/libshmkit.so" ] || fail "libshmkit.so is not a symlink"
[ -L "$libdir/libshmkit.so.0" ] || fail "libshmkit.so.0 is not a symlink"
real=$(readlink -f "$libdir/libshmkit.so.0")
[ -f "$real" ] || fail "libshmkit.so.0 points nowhere"
case ${real##*/} in
libshmkit.so.0.*) ;;
*) fail "libshmkit.so.0 points to ${real##*/}" ;;
esac
soname=$(readelf -d "$real" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libshmkit.so.0 ] || fail "SONAME is '$soname'"
[ -f "$libdir/libshmkit.a" ] || fail "no libshmkit.a"
nm "$libdir/libshmkit.a" 2>/dev/null | grep -q ' T shmkit_seg_create$' ||
	fail "libshmkit.a does not define shmkit_seg_create"

cmakedir=$libdir/cmake/shmkit
for f in shmkitConfig.cmake shmkitConfigVersion.cmake shmkitTargets.cmake; do
	[ -f "$cmakedir/$f" ] || fail "no $f in $cmakedir"
done

# Only the public API (shmkit_* and the classic compat functions of
# <shmkit/compat/*.h>) leaves the shared library: everything else is
# hidden, so internals can change without breaking the ABI.
others=$(nm -D --defined-only "$real" | awk '{ print $3 }' |
	grep -v -e '^shmkit_' \
		-e '^IPC_\(CreatShm\|OpenShm\|CreatShmBySeedName\|MapShm\|UnMapShm\|DelShm\)$' \
		-e '^KeyMng_Shm\(Init\|Write\|Read\)$' || true)
[ -z "$others" ] || fail "exported symbols outside shmkit_* and the compat API: $others"
nm -D --defined-only "$real" | grep -q ' T shmkit_strerror$' ||
	fail "shmkit_strerror is not exported"

# The example sources go with the documentation when the examples are
# built; without them, part (a) below uses the source tree's copies.
docdir=$prefix/share/doc/shmkit/examples
if [ -d "$SHMKIT_BUILD_DIR/examples" ]; then
	[ -f "$docdir/README.md" ] || fail "examples not installed in $docdir"
else
	docdir=$src/examples
fi

# An ASan build of the library needs the sanitizer runtime in the
# programs too, loaded first.
san=
if readelf -d "$real" | grep -q 'NEEDED.*libasan'; then
	san="-fsanitize=address,undefined"
fi

# The pkg-config file must point into this prefix, wherever it is.
export PKG_CONFIG_PATH=$libdir/pkgconfig
unset PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR
version=$(sed -n 's/^#define SHMKIT_VERSION_STRING "\(.*\)"$/\1/p' \
	"$src/include/shmkit/common.h")
pcversion=$(pkg-config --modversion shmkit)
[ "$pcversion" = "$version" ] ||
	fail "pkg-config says version $pcversion, want $version"
flags=$(pkg-config --cflags --libs shmkit)
case " $flags " in
*" -I$prefix/"* | *" -I$(readlink -f "$prefix")/"*) ;;
*) fail "pkg-config cflags do not point into the prefix: $flags" ;;
esac

# (a) The installed examples, built from the installed tree alone, as
# strict ISO C: they must not depend on our build's -D_GNU_SOURCE.
mkdir "$tmp/bin"
cflags="-std=c11 -pedantic -Wall -Wextra -Werror $san"
for c in "$docdir"/*.c; do
	p=$(basename "$c" .c)
	# shellcheck disable=SC2086
	run "$tmp/cc-$p.log" cc $cflags -o "$tmp/bin/$p" "$c" $flags
done
[ -x "$tmp/bin/posix_student_reader" ] || fail "no examples in $docdir"
readelf -d "$tmp/bin/posix_student_reader" |
	grep -q 'NEEDED.*\[libshmkit.so.0\]' ||
	fail "example does not need libshmkit.so.0"
out=$(LD_LIBRARY_PATH=$libdir "$tmp/bin/posix_student_writer" \
	"posix:/$posix_name")
[ "$out" = "wrote student 1001 to posix:/$posix_name" ] ||
	fail "installed writer said: $out"
out=$(LD_LIBRARY_PATH=$libdir "$tmp/bin/posix_student_reader" --remove \
	"posix:/$posix_name")
[ "$out" = "id 1001: Ada Lovelace, age 36, score 97.5" ] ||
	fail "installed reader said: $out"
[ ! -e "/dev/shm/$posix_name" ] || fail "installed reader left the object"

# The same programs against the static library: no libshmkit.so needed.
sflags=$(pkg-config --cflags shmkit)
slibs=$(pkg-config --static --libs-only-other shmkit)
for p in posix_student_writer posix_student_reader; do
	# shellcheck disable=SC2086
	run "$tmp/cc-static-$p.log" cc $cflags -o "$tmp/bin/$p-static" \
		"$docdir/$p.c" $sflags "$libdir/libshmkit.a" $slibs
done
if readelf -d "$tmp/bin/posix_student_reader-static" | grep -q libshmkit; then
	fail "statically linked example still needs libshmkit.so"
fi
"$tmp/bin/posix_student_writer-static" "posix:/$posix_name-static" >/dev/null
out=$("$tmp/bin/posix_student_reader-static" --remove \
	"posix:/$posix_name-static")
[ "$out" = "id 1001: Ada Lovelace, age 36, score 97.5" ] ||
	fail "static reader said: $out"

# (b) A consumer's CMake project: find_package and the imported targets.
mkdir "$tmp/consumer"
cat >"$tmp/consumer/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.18)
project(consumer C)
find_package(shmkit 0.1 REQUIRED)
add_executable(x main.c)
target_link_libraries(x shmkit::shmkit)
add_executable(x_static main.c)
target_link_libraries(x_static shmkit::shmkit_static)
CMAKE
cat >"$tmp/consumer/main.c" <<'C'
#include <stdio.h>
#include <string.h>

#include <shmkit/shmkit.h>

int
main(int argc, char **argv)
{
	shmkit_seg_opts_t opts = { .size = 100 };
	shmkit_addr_t a;
	shmkit_seg_t *seg;
	char buf[SHMKIT_ADDR_STRLEN];
	void *p;
	int rc;

	if (argc != 2)
		return 2;
	rc = shmkit_addr_parse(&a, "sysv:68");
	if (rc == 0)
		rc = shmkit_addr_format(&a, buf, sizeof(buf));
	if (rc < 0) {
		printf("addr: %s\n", shmkit_strerror(rc));
		return 1;
	}
	printf("%s %s\n", SHMKIT_VERSION_STRING, buf);
	rc = shmkit_seg_create(&seg, argv[1], &opts);
	if (rc < 0) {
		printf("create: %s\n", shmkit_strerror(rc));
		return 1;
	}
	rc = shmkit_seg_attach(seg, &p, 0, NULL);
	if (rc == 0) {
		strcpy(p, "consumer");
		printf("%s %zu %s\n",
		       shmkit_backend_name(shmkit_seg_backend(seg)),
		       shmkit_seg_size(seg), (char *)p);
	} else {
		printf("attach: %s\n", shmkit_strerror(rc));
	}
	shmkit_seg_unlink(seg);
	shmkit_seg_close(seg);
	return rc < 0;
}
C
run "$tmp/consumer-configure.log" cmake -S "$tmp/consumer" \
	-B "$tmp/consumer/build" -DCMAKE_PREFIX_PATH="$prefix" \
	-DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS="$san" \
	-DCMAKE_EXE_LINKER_FLAGS="$san"
run "$tmp/consumer-build.log" cmake --build "$tmp/consumer/build"
expected="$version sysv:0x00000044
posix 100 consumer"
for x in x x_static; do
	out=$(LD_LIBRARY_PATH=$libdir "$tmp/consumer/build/$x" \
		"posix:/$posix_name")
	[ "$out" = "$expected" ] || fail "consumer $x said: $out"
	[ ! -e "/dev/shm/$posix_name" ] || fail "consumer $x left its object"
done

# The version file refuses another major version.
mkdir "$tmp/consumer2"
sed 's/find_package(shmkit 0.1 REQUIRED)/find_package(shmkit 1 REQUIRED)/' \
	"$tmp/consumer/CMakeLists.txt" >"$tmp/consumer2/CMakeLists.txt"
cp "$tmp/consumer/main.c" "$tmp/consumer2/"
if cmake -S "$tmp/consumer2" -B "$tmp/consumer2/build" \
	-DCMAKE_PREFIX_PATH="$prefix" >"$tmp/consumer2.log" 2>&1; then
	fail "find_package(shmkit 1) accepted version $version"
fi
echo "ok"
