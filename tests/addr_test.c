/*
 * The address syntax (src/seg/addr.c): every valid spelling parses to the
 * right fields, formats to its canonical text and parses back equal; every
 * bad spelling gives exactly -EINVAL or -ENAMETOOLONG and leaves the output
 * untouched; ftok keys match ftok(3); and a seeded fuzz loop holds the
 * round-trip property over mutated input.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <unistd.h>

#include <shmkit/addr.h>

#include "shmkit_test.h"

/* Byte pattern written over outputs before a call that must not touch them. */
#define PATTERN 0xa5

/* Longest input the tests build: past every limit with room to spare. */
#define TEXT_MAX (SHMKIT_PATH_MAX + 512)

/* Printable form of s for failure messages: escapes bytes outside
 * 0x20-0x7e and shows only the start of long strings. */
static const char *
show(const char *s)
{
	static char buf[256];
	size_t n = 0, len;

	if (s == NULL)
		return "(null)";
	len = strlen(s);
	for (; *s != '\0' && n < 120; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c < 0x7f && c != '\\')
			buf[n++] = (char)c;
		else
			n += (size_t)snprintf(buf + n, sizeof(buf) - n,
					      "\\x%02x", c);
	}
	if (*s != '\0')
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
				      "... (%zu bytes)", len);
	buf[n] = '\0';
	return buf;
}

/* A string of n copies of c after prefix, in buf (TEXT_MAX bytes). */
static const char *
make_long(char *buf, const char *prefix, char c, size_t n)
{
	size_t p = strlen(prefix);

	SHMKIT_ASSERT(p + n < TEXT_MAX);
	memcpy(buf, prefix, p);
	memset(buf + p, c, n);
	buf[p + n] = '\0';
	return buf;
}

/* Parses text, which must succeed, into *a. */
static void
parse_ok(shmkit_addr_t *a, const char *text)
{
	int rc = shmkit_addr_parse(a, text);

	if (rc != 0)
		SHMKIT_FAIL("parse(\"%s\") = %d (%s), want 0", show(text), rc,
			    shmkit_errname(rc));
}

/*
 * Parses text and checks every field: the ones given, and that path is
 * zero-filled after its NUL (so parsed addresses compare with memcmp).
 */
static void
expect(const char *text, shmkit_addr_kind_t kind, shmkit_key_t key, int id,
       int proj, const char *path)
{
	static shmkit_addr_t a;
	size_t n = strlen(path), i;

	memset(&a, PATTERN, sizeof(a));
	parse_ok(&a, text);
	if (a.kind != kind || a.key != key || a.id != id || a.proj != proj)
		SHMKIT_FAIL("parse(\"%s\"): kind %d key 0x%x id %d proj %d, "
			    "want kind %d key 0x%x id %d proj %d",
			    show(text), (int)a.kind, (unsigned)a.key, a.id,
			    a.proj, (int)kind, (unsigned)key, id, proj);
	if (strcmp(a.path, path) != 0)
		SHMKIT_FAIL("parse(\"%s\"): path \"%s\", want \"%s\"",
			    show(text), show(a.path), path);
	for (i = n; i < sizeof(a.path); i++) {
		if (a.path[i] != '\0')
			SHMKIT_FAIL("parse(\"%s\"): path byte %zu is 0x%02x",
				    show(text), i, (unsigned char)a.path[i]);
	}
}

/* Parses text, which must fail with exactly err and leave out alone. */
static void
expect_bad(const char *text, int err)
{
	static shmkit_addr_t a, pattern;
	int rc;

	memset(&pattern, PATTERN, sizeof(pattern));
	memcpy(&a, &pattern, sizeof(a));
	rc = shmkit_addr_parse(&a, text);
	if (rc != err)
		SHMKIT_FAIL("parse(\"%s\") = %d (%s), want %d (%s)", show(text),
			    rc, shmkit_errname(rc), err, shmkit_errname(err));
	if (memcmp(&a, &pattern, sizeof(a)) != 0)
		SHMKIT_FAIL("parse(\"%s\") failed but wrote its output",
			    show(text));
}

/* format(parse(text)) is want, and parsing want gives the same struct. */
static void
expect_format(const char *text, const char *want)
{
	static shmkit_addr_t a, b;
	static char buf[SHMKIT_ADDR_STRLEN];
	int n;

	parse_ok(&a, text);
	memset(buf, PATTERN, sizeof(buf));
	n = shmkit_addr_format(&a, buf, sizeof(buf));
	if (n < 0 || strcmp(buf, want) != 0)
		SHMKIT_FAIL("format(parse(\"%s\")) = %d \"%s\", want \"%s\"",
			    show(text), n, n < 0 ? "" : show(buf), show(want));
	SHMKIT_ASSERT_EQ(n, strlen(want));
	parse_ok(&b, buf);
	if (memcmp(&a, &b, sizeof(a)) != 0)
		SHMKIT_FAIL("parse(format(parse(\"%s\"))) differs", show(text));
}

/* ---- valid forms ---------------------------------------------------- */

static void
test_parse_sysv_key_hex(void)
{
	expect("sysv:0x44", SHMKIT_ADDR_SYSV_KEY, 0x44, 0, 0, "");
	expect("sysv:0X44", SHMKIT_ADDR_SYSV_KEY, 0x44, 0, 0, "");
	expect("sysv:0xaBcD", SHMKIT_ADDR_SYSV_KEY, 0xabcd, 0, 0, "");
	expect("sysv:0x00000001", SHMKIT_ADDR_SYSV_KEY, 1, 0, 0, "");
	expect("sysv:0x53000001", SHMKIT_ADDR_SYSV_KEY, 0x53000001, 0, 0, "");
}

static void
test_parse_sysv_key_decimal(void)
{
	expect("sysv:68", SHMKIT_ADDR_SYSV_KEY, 68, 0, 0, "");
	expect("sysv:1", SHMKIT_ADDR_SYSV_KEY, 1, 0, 0, "");
	/* Leading zeros stay decimal, not octal. */
	expect("sysv:010", SHMKIT_ADDR_SYSV_KEY, 10, 0, 0, "");
}

static void
test_parse_sysv_key_max(void)
{
	expect("sysv:0xFFFFFFFF", SHMKIT_ADDR_SYSV_KEY,
	       (shmkit_key_t)0xffffffffu, 0, 0, "");
	expect("sysv:4294967295", SHMKIT_ADDR_SYSV_KEY,
	       (shmkit_key_t)0xffffffffu, 0, 0, "");
	expect("sysv:0x80000000", SHMKIT_ADDR_SYSV_KEY,
	       (shmkit_key_t)0x80000000u, 0, 0, "");
}

static void
test_parse_sysv_id(void)
{
	expect("sysv-id:0", SHMKIT_ADDR_SYSV_ID, 0, 0, 0, "");
	expect("sysv-id:12", SHMKIT_ADDR_SYSV_ID, 0, 12, 0, "");
	expect("sysv-id:0x10", SHMKIT_ADDR_SYSV_ID, 0, 16, 0, "");
	expect("sysv-id:2147483647", SHMKIT_ADDR_SYSV_ID, 0, 2147483647, 0, "");
}

static void
test_parse_ftok_numeric_proj(void)
{
	expect("ftok:/tmp:1", SHMKIT_ADDR_FTOK, 0, 0, 1, "/tmp");
	expect("ftok:/tmp:9", SHMKIT_ADDR_FTOK, 0, 0, 9, "/tmp");
	expect("ftok:/tmp:42", SHMKIT_ADDR_FTOK, 0, 0, 42, "/tmp");
	expect("ftok:relative/p:0x10", SHMKIT_ADDR_FTOK, 0, 0, 16,
	       "relative/p");
}

static void
test_parse_ftok_char_proj(void)
{
	expect("ftok:/tmp:A", SHMKIT_ADDR_FTOK, 0, 0, 'A', "/tmp");
	expect("ftok:/tmp:x", SHMKIT_ADDR_FTOK, 0, 0, 'x', "/tmp");
	expect("ftok:/tmp: ", SHMKIT_ADDR_FTOK, 0, 0, ' ', "/tmp");
	expect("ftok:/tmp:~", SHMKIT_ADDR_FTOK, 0, 0, '~', "/tmp");
	/* One byte above 0x7f is a character too. */
	expect("ftok:/tmp:\xe9", SHMKIT_ADDR_FTOK, 0, 0, 0xe9, "/tmp");
}

static void
test_parse_ftok_path_with_colons(void)
{
	expect("ftok:/a:b:1", SHMKIT_ADDR_FTOK, 0, 0, 1, "/a:b");
	expect("ftok:/a:b:c:A", SHMKIT_ADDR_FTOK, 0, 0, 'A', "/a:b:c");
	expect("ftok:/a::7", SHMKIT_ADDR_FTOK, 0, 0, 7, "/a:");
	expect("ftok:::2", SHMKIT_ADDR_FTOK, 0, 0, 2, ":");
}

static void
test_parse_ftok_proj_255(void)
{
	expect("ftok:/tmp:255", SHMKIT_ADDR_FTOK, 0, 0, 255, "/tmp");
	expect("ftok:/tmp:0xff", SHMKIT_ADDR_FTOK, 0, 0, 255, "/tmp");
	expect("ftok:/tmp:0xFF", SHMKIT_ADDR_FTOK, 0, 0, 255, "/tmp");
	expect("ftok:/tmp:0x1", SHMKIT_ADDR_FTOK, 0, 0, 1, "/tmp");
}

static void
test_parse_posix_prefixed(void)
{
	expect("posix:/name", SHMKIT_ADDR_POSIX, 0, 0, 0, "/name");
	expect("posix:/a.b-c_d", SHMKIT_ADDR_POSIX, 0, 0, 0, "/a.b-c_d");
	expect("posix:/...", SHMKIT_ADDR_POSIX, 0, 0, 0, "/...");
	expect("posix:/a:b", SHMKIT_ADDR_POSIX, 0, 0, 0, "/a:b");
}

static void
test_parse_posix_bare(void)
{
	shmkit_addr_t a, b;

	expect("/name", SHMKIT_ADDR_POSIX, 0, 0, 0, "/name");
	expect("/x", SHMKIT_ADDR_POSIX, 0, 0, 0, "/x");
	parse_ok(&a, "/name");
	parse_ok(&b, "posix:/name");
	SHMKIT_ASSERT_MEMEQ(&a, &b, sizeof(a));
}

static void
test_parse_file_absolute(void)
{
	expect("file:/a/b", SHMKIT_ADDR_FILE, 0, 0, 0, "/a/b");
	expect("file:/", SHMKIT_ADDR_FILE, 0, 0, 0, "/");
	expect("file:/a:b:1", SHMKIT_ADDR_FILE, 0, 0, 0, "/a:b:1");
}

static void
test_parse_file_relative(void)
{
	expect("file:relative", SHMKIT_ADDR_FILE, 0, 0, 0, "relative");
	expect("file:./x/../y", SHMKIT_ADDR_FILE, 0, 0, 0, "./x/../y");
}

static void
test_parse_memfd(void)
{
	expect("memfd:x", SHMKIT_ADDR_MEMFD, 0, 0, 0, "x");
	expect("memfd:my buffer", SHMKIT_ADDR_MEMFD, 0, 0, 0, "my buffer");
	expect("memfd:a/b:c", SHMKIT_ADDR_MEMFD, 0, 0, 0, "a/b:c");
}

static void
test_parse_path_length_limits(void)
{
	static char text[TEXT_MAX];
	static char want[TEXT_MAX];
	size_t max = SHMKIT_PATH_MAX - 1;

	/* POSIX: at most NAME_MAX bytes after the '/'. */
	make_long(want, "/", 'n', NAME_MAX);
	expect(make_long(text, "/", 'n', NAME_MAX), SHMKIT_ADDR_POSIX, 0, 0, 0,
	       want);
	expect(make_long(text, "posix:/", 'n', NAME_MAX), SHMKIT_ADDR_POSIX, 0,
	       0, 0, want);
	expect_bad(make_long(text, "/", 'n', NAME_MAX + 1), -ENAMETOOLONG);
	expect_bad(make_long(text, "posix:/", 'n', NAME_MAX + 1),
		   -ENAMETOOLONG);
	expect_bad(make_long(text, "/", 'n', TEXT_MAX - 8), -ENAMETOOLONG);

	/* file: and ftok: paths of at most PATH_MAX - 1 bytes. */
	make_long(want, "", 'f', max);
	expect(make_long(text, "file:", 'f', max), SHMKIT_ADDR_FILE, 0, 0, 0,
	       want);
	expect_bad(make_long(text, "file:", 'f', max + 1), -ENAMETOOLONG);
	make_long(text, "ftok:", 'f', max);
	strcat(text, ":1");
	expect(text, SHMKIT_ADDR_FTOK, 0, 0, 1, want);
	make_long(text, "ftok:", 'f', max + 1);
	strcat(text, ":1");
	expect_bad(text, -ENAMETOOLONG);

	/* memfd: at most SHMKIT_MEMFD_NAME_MAX (249) bytes. */
	SHMKIT_ASSERT_EQ(SHMKIT_MEMFD_NAME_MAX, 249);
	make_long(want, "", 'm', SHMKIT_MEMFD_NAME_MAX);
	expect(make_long(text, "memfd:", 'm', SHMKIT_MEMFD_NAME_MAX),
	       SHMKIT_ADDR_MEMFD, 0, 0, 0, want);
	expect_bad(make_long(text, "memfd:", 'm', SHMKIT_MEMFD_NAME_MAX + 1),
		   -ENAMETOOLONG);
}

/* ---- format and round trip ------------------------------------------ */

static void
test_format_canonical(void)
{
	expect_format("sysv:0x44", "sysv:0x00000044");
	expect_format("sysv:68", "sysv:0x00000044");
	expect_format("sysv:0X44", "sysv:0x00000044");
	expect_format("sysv:0xFFFFFFFF", "sysv:0xffffffff");
	expect_format("sysv:0x53abcdef", "sysv:0x53abcdef");
	expect_format("sysv-id:0", "sysv-id:0");
	expect_format("sysv-id:12", "sysv-id:12");
	expect_format("sysv-id:0x10", "sysv-id:16");
	expect_format("ftok:/tmp:1", "ftok:/tmp:1");
	expect_format("ftok:/tmp:A", "ftok:/tmp:65");
	expect_format("ftok:/tmp:0xff", "ftok:/tmp:255");
	expect_format("ftok:/a:b:1", "ftok:/a:b:1");
	expect_format("ftok:/tmp:\xe9", "ftok:/tmp:233");
	expect_format("posix:/name", "posix:/name");
	expect_format("/name", "posix:/name");
	expect_format("file:/a/b", "file:/a/b");
	expect_format("file:relative", "file:relative");
	expect_format("memfd:x", "memfd:x");
}

static const char *const valid_inputs[] = {
	"sysv:0x44",
	"sysv:68",
	"sysv:0xFFFFFFFF",
	"sysv:1",
	"sysv-id:0",
	"sysv-id:12",
	"sysv-id:2147483647",
	"ftok:/tmp:1",
	"ftok:/tmp:A",
	"ftok:/a:b:c:9",
	"ftok:/tmp:255",
	"ftok:/tmp:0xff",
	"ftok:x:0x7f",
	"posix:/name",
	"/name",
	"/a.b",
	"file:/a/b",
	"file:relative",
	"file:/a b:c",
	"memfd:x",
	"memfd:a/b",
	NULL,
};

static void
test_format_parse_roundtrip(void)
{
	static shmkit_addr_t a, b, c;
	static char buf[SHMKIT_ADDR_STRLEN], buf2[SHMKIT_ADDR_STRLEN];
	static char text[TEXT_MAX];
	const char *const longs[] = {"file:", "ftok:", "/", "memfd:"};
	const size_t long_len[] = {SHMKIT_PATH_MAX - 1, SHMKIT_PATH_MAX - 1,
				   NAME_MAX, SHMKIT_MEMFD_NAME_MAX};
	size_t i;
	int n;

	for (i = 0; valid_inputs[i] != NULL; i++) {
		parse_ok(&a, valid_inputs[i]);
		n = shmkit_addr_format(&a, buf, sizeof(buf));
		SHMKIT_ASSERT_OK(n);
		parse_ok(&b, buf);
		if (memcmp(&a, &b, sizeof(a)) != 0)
			SHMKIT_FAIL("round trip of \"%s\" via \"%s\" differs",
				    valid_inputs[i], buf);
		/* Canonical text is a fixed point. */
		SHMKIT_ASSERT_EQ(shmkit_addr_format(&b, buf2, sizeof(buf2)), n);
		SHMKIT_ASSERT_STREQ(buf2, buf);
	}
	/* The longest address of each kind fits SHMKIT_ADDR_STRLEN, ftok
	 * with a three-digit PROJ included. */
	for (i = 0; i < sizeof(longs) / sizeof(longs[0]); i++) {
		make_long(text, longs[i], 'z', long_len[i]);
		if (strcmp(longs[i], "ftok:") == 0)
			strcat(text, ":255");
		parse_ok(&a, text);
		n = shmkit_addr_format(&a, buf, sizeof(buf));
		SHMKIT_ASSERT_OK(n);
		parse_ok(&c, buf);
		SHMKIT_ASSERT_MEMEQ(&a, &c, sizeof(a));
	}
	SHMKIT_ASSERT_EQ(n, 6 + SHMKIT_MEMFD_NAME_MAX); /* the last: memfd */
}

/* ---- bad input ------------------------------------------------------ */

static void
test_bad_null_and_empty(void)
{
	shmkit_addr_t a;

	SHMKIT_ASSERT_ERR(shmkit_addr_parse(&a, NULL), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_addr_parse(NULL, "sysv:0x44"), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_addr_parse(NULL, NULL), -EINVAL);
	expect_bad(NULL, -EINVAL);
	expect_bad("", -EINVAL);
}

static void
test_bad_unknown_prefix(void)
{
	static const char *const bad[] = {
		"foo:bar",    "shm:/x",	   "SYSV:0x44", "Posix:/x", "sysv",
		"posix",      "file",	   "memfd",	"ftok",	    "sysv-id",
		"sysvid:1",   "sysv_id:1", "name",	"0x44",	    "68",
		" /name",     " sysv:1",   ":",		"::",	    "x:/y",
		"sysv-key:1", NULL,
	};
	size_t i;

	for (i = 0; bad[i] != NULL; i++)
		expect_bad(bad[i], -EINVAL);
}

static void
test_bad_sysv_key(void)
{
	static const char *const bad[] = {
		"sysv:",
		"sysv:0",
		"sysv:0x0",
		"sysv:0x00000000",
		"sysv:00",
		"sysv:-1",
		"sysv:+1",
		"sysv:12abc",
		"sysv: 12",
		"sysv:12 ",
		"sysv:0x",
		"sysv:0x-1",
		"sysv:0xg",
		"sysv:1.5",
		"sysv:1e3",
		"sysv:0b101",
		"sysv:0x100000000",
		"sysv:4294967296",
		"sysv:99999999999999999999999",
		"sysv:0xffffffffffffffffff",
		"sysv:x44",
		"sysv:0x44:",
		"sysv::0x44",
		NULL,
	};
	size_t i;

	for (i = 0; bad[i] != NULL; i++)
		expect_bad(bad[i], -EINVAL);
}

static void
test_bad_sysv_id(void)
{
	static const char *const bad[] = {
		"sysv-id:",	      "sysv-id:-1",
		"sysv-id:2147483648", "sysv-id:4294967295",
		"sysv-id:0x80000000", "sysv-id:1a",
		"sysv-id: 1",	      "sysv-id:+1",
		"sysv-id:0x",	      NULL,
	};
	size_t i;

	for (i = 0; bad[i] != NULL; i++)
		expect_bad(bad[i], -EINVAL);
}

static void
test_bad_ftok(void)
{
	static const char *const bad[] = {
		"ftok:",
		"ftok:/tmp",
		"ftok::1",
		"ftok::",
		"ftok:/tmp:0",
		"ftok:/tmp:0x0",
		"ftok:/tmp:00",
		"ftok:/tmp:256",
		"ftok:/tmp:0x100",
		"ftok:/tmp:",
		"ftok:/tmp::",
		"ftok:/tmp:-1",
		"ftok:/tmp:AB",
		"ftok:/tmp:1x",
		"ftok:/tmp: 1",
		"ftok:/tmp:\xc3\xa9",
		"ftok:/tmp:99999999999999999999",
		NULL,
	};
	size_t i;

	for (i = 0; bad[i] != NULL; i++)
		expect_bad(bad[i], -EINVAL);
}

static void
test_bad_posix_name(void)
{
	static const char *const bad[] = {
		"/",	       "//",
		"/a/b",	       "/a/",
		"//a",	       "posix:",
		"posix:/",     "posix://",
		"posix:/a/b",  "posix:noslash",
		"posix:name/", "/.",
		"/..",	       "posix:/.",
		"posix:/..",   NULL,
	};
	size_t i;

	for (i = 0; bad[i] != NULL; i++)
		expect_bad(bad[i], -EINVAL);
}

static void
test_bad_empty_file_and_memfd(void)
{
	expect_bad("file:", -EINVAL);
	expect_bad("memfd:", -EINVAL);
}

static void
test_bad_control_bytes_every_kind(void)
{
	static const char *const templates[] = {
		/* '@' is replaced by the control byte. */
		"sysv:6@8",    "sysv:0x44@",   "sysv:@68",     "sy@sv:68",
		"sysv-id:1@2", "sysv-id:12@",  "ftok:/t@mp:1", "ftok:/tmp:1@",
		"ftok:/tmp:@", "ftok:/tmp@:A", "posix:/na@me", "posix:/name@",
		"/na@me",      "/@",	       "file:/a@/b",   "file:rel@",
		"file:@",      "memfd:x@",     "memfd:@",      "memfd:a@b",
		NULL,
	};
	static const char controls[] = {'\n', '\t',   '\x1b', '\x7f',
					'\r', '\x01', '\x1f'};
	char text[64];
	size_t i, j;

	for (i = 0; templates[i] != NULL; i++) {
		for (j = 0; j < sizeof(controls); j++) {
			char *at;

			snprintf(text, sizeof(text), "%s", templates[i]);
			at = strchr(text, '@');
			SHMKIT_ASSERT(at != NULL);
			*at = controls[j];
			expect_bad(text, -EINVAL);
		}
	}
}

static void
test_failed_parse_leaves_out_untouched(void)
{
	static shmkit_addr_t a, before;

	/* A good parse first, so *out holds real data, then bad ones. */
	parse_ok(&a, "ftok:/some/path:7");
	memcpy(&before, &a, sizeof(a));
	SHMKIT_ASSERT_ERR(shmkit_addr_parse(&a, "ftok:/x:0"), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_addr_parse(&a, "posix:/a/b"), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_addr_parse(&a, "memfd:"), -EINVAL);
	SHMKIT_ASSERT_MEMEQ(&a, &before, sizeof(a));
	/* And the pattern check expect_bad() does for every error kind. */
	expect_bad("sysv:0x100000000", -EINVAL);
	expect_bad("file:\n", -EINVAL);
	{
		static char text[TEXT_MAX];

		expect_bad(make_long(text, "file:", 'p', SHMKIT_PATH_MAX),
			   -ENAMETOOLONG);
	}
}

/* ---- format errors -------------------------------------------------- */

static void
test_format_small_buffer(void)
{
	static shmkit_addr_t a;
	char buf[64];
	const char *want = "posix:/name";
	size_t len, n = strlen(want);

	parse_ok(&a, "/name");
	for (len = 1; len <= n; len++) {
		memset(buf, PATTERN, sizeof(buf));
		SHMKIT_ASSERT_ERR(shmkit_addr_format(&a, buf, len),
				  -ENAMETOOLONG);
		SHMKIT_ASSERT_EQ(buf[0], '\0');
		/* Nothing written past the buffer the caller gave. */
		SHMKIT_ASSERT_EQ((unsigned char)buf[len], PATTERN);
	}
	memset(buf, PATTERN, sizeof(buf));
	SHMKIT_ASSERT_EQ(shmkit_addr_format(&a, buf, n + 1), n);
	SHMKIT_ASSERT_STREQ(buf, want);

	/* len 0: nothing is written, with or without a buffer. */
	SHMKIT_ASSERT_ERR(shmkit_addr_format(&a, NULL, 0), -ENAMETOOLONG);
	memset(buf, PATTERN, sizeof(buf));
	SHMKIT_ASSERT_ERR(shmkit_addr_format(&a, buf, 0), -ENAMETOOLONG);
	SHMKIT_ASSERT_EQ((unsigned char)buf[0], PATTERN);

	/* A System V key always takes 15 bytes. */
	parse_ok(&a, "sysv:1");
	SHMKIT_ASSERT_ERR(shmkit_addr_format(&a, buf, 15), -ENAMETOOLONG);
	SHMKIT_ASSERT_STREQ(buf, "");
	SHMKIT_ASSERT_EQ(shmkit_addr_format(&a, buf, 16), 15);
	SHMKIT_ASSERT_STREQ(buf, "sysv:0x00000001");
}

static void
test_format_invalid_arguments(void)
{
	static shmkit_addr_t a;
	char buf[64];

	parse_ok(&a, "memfd:x");
	SHMKIT_ASSERT_ERR(shmkit_addr_format(NULL, buf, sizeof(buf)), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_addr_format(&a, NULL, sizeof(buf)), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_addr_format(NULL, NULL, 0), -EINVAL);

	/* Kinds outside the enum. */
	a.kind = (shmkit_addr_kind_t)0;
	SHMKIT_ASSERT_ERR(shmkit_addr_format(&a, buf, sizeof(buf)), -EINVAL);
	a.kind = (shmkit_addr_kind_t)7;
	SHMKIT_ASSERT_ERR(shmkit_addr_format(&a, buf, sizeof(buf)), -EINVAL);
	a.kind = (shmkit_addr_kind_t)-1;
	SHMKIT_ASSERT_ERR(shmkit_addr_format(&a, buf, sizeof(buf)), -EINVAL);
}

/* Addresses built by hand that parse could never produce: format refuses
 * them instead of printing text that does not parse back, or reading past
 * an unterminated path. */
static void
test_format_rejects_invalid_address(void)
{
	static shmkit_addr_t a;
	char buf[SHMKIT_ADDR_STRLEN];
	shmkit_key_t key;

	memset(&a, 0, sizeof(a));
	a.kind = SHMKIT_ADDR_SYSV_KEY;
	a.key = 0; /* IPC_PRIVATE */
	SHMKIT_ASSERT_ERR(shmkit_addr_format(&a, buf, sizeof(buf)), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_addr_key(&a, &key), -EINVAL);

	a.kind = SHMKIT_ADDR_SYSV_ID;
	a.id = -1;
	SHMKIT_ASSERT_ERR(shmkit_addr_format(&a, buf, sizeof(buf)), -EINVAL);

	memset(&a, 0, sizeof(a));
	a.kind = SHMKIT_ADDR_FTOK;
	strcpy(a.path, "/tmp");
	a.proj = 0;
	SHMKIT_ASSERT_ERR(shmkit_addr_format(&a, buf, sizeof(buf)), -EINVAL);
	a.proj = 256;
	SHMKIT_ASSERT_ERR(shmkit_addr_format(&a, buf, sizeof(buf)), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_addr_key(&a, &key), -EINVAL);
	a.proj = 1;
	a.path[0] = '\0';
	SHMKIT_ASSERT_ERR(shmkit_addr_format(&a, buf, sizeof(buf)), -EINVAL);

	/* Unterminated path: every byte set. */
	memset(a.path, 'a', sizeof(a.path));
	SHMKIT_ASSERT_ERR(shmkit_addr_format(&a, buf, sizeof(buf)), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_addr_key(&a, &key), -EINVAL);
	a.kind = SHMKIT_ADDR_FILE;
	SHMKIT_ASSERT_ERR(shmkit_addr_format(&a, buf, sizeof(buf)), -EINVAL);

	memset(&a, 0, sizeof(a));
	a.kind = SHMKIT_ADDR_POSIX;
	strcpy(a.path, "noslash");
	SHMKIT_ASSERT_ERR(shmkit_addr_format(&a, buf, sizeof(buf)), -EINVAL);
	strcpy(a.path, "/a/b");
	SHMKIT_ASSERT_ERR(shmkit_addr_format(&a, buf, sizeof(buf)), -EINVAL);

	memset(&a, 0, sizeof(a));
	a.kind = SHMKIT_ADDR_MEMFD;
	memset(a.path, 'm', SHMKIT_MEMFD_NAME_MAX + 1);
	SHMKIT_ASSERT_ERR(shmkit_addr_format(&a, buf, sizeof(buf)), -EINVAL);
	strcpy(a.path, "x\ny");
	SHMKIT_ASSERT_ERR(shmkit_addr_format(&a, buf, sizeof(buf)), -EINVAL);
}

/* ---- keys and backends ---------------------------------------------- */

static void
test_key_sysv(void)
{
	shmkit_addr_t a;
	shmkit_key_t key = 0;

	parse_ok(&a, "sysv:0x44");
	SHMKIT_ASSERT_OK(shmkit_addr_key(&a, &key));
	SHMKIT_ASSERT_EQ(key, 0x44);
	parse_ok(&a, "sysv:0xFFFFFFFF");
	SHMKIT_ASSERT_OK(shmkit_addr_key(&a, &key));
	SHMKIT_ASSERT_EQ(key, (shmkit_key_t)0xffffffffu);
	SHMKIT_ASSERT_ERR(shmkit_addr_key(NULL, &key), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_addr_key(&a, NULL), -EINVAL);
}

static void
test_key_ftok_matches_ftok(void)
{
	static const int projs[] = {1, 'A', 'z', 200, 255};
	char path[512], text[600];
	shmkit_addr_t a;
	shmkit_key_t key;
	size_t i;
	int fd;

	snprintf(path, sizeof(path), "%s/keyfile", shmkit_test_tmpdir());
	fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	SHMKIT_ASSERT(fd >= 0);
	close(fd);
	for (i = 0; i < sizeof(projs) / sizeof(projs[0]); i++) {
		snprintf(text, sizeof(text), "ftok:%s:%d", path, projs[i]);
		parse_ok(&a, text);
		key = 0;
		SHMKIT_ASSERT_OK(shmkit_addr_key(&a, &key));
		SHMKIT_ASSERT_EQ(key, ftok(path, projs[i]));
		SHMKIT_ASSERT_NE(key, IPC_PRIVATE);
	}
	/* The character spelling gives the same key as its code. */
	snprintf(text, sizeof(text), "ftok:%s:A", path);
	parse_ok(&a, text);
	SHMKIT_ASSERT_OK(shmkit_addr_key(&a, &key));
	SHMKIT_ASSERT_EQ(key, ftok(path, 'A'));
	/* A directory works as well as a file. */
	parse_ok(&a, "ftok:/:1");
	SHMKIT_ASSERT_OK(shmkit_addr_key(&a, &key));
	SHMKIT_ASSERT_EQ(key, ftok("/", 1));
}

static void
test_key_ftok_missing_path(void)
{
	char text[600];
	shmkit_addr_t a;
	shmkit_key_t key = 12345;

	snprintf(text, sizeof(text), "ftok:%s/missing:1", shmkit_test_tmpdir());
	parse_ok(&a, text);
	SHMKIT_ASSERT_ERR(shmkit_addr_key(&a, &key), -ENOENT);
	SHMKIT_ASSERT_EQ(key, 12345);
	snprintf(text, sizeof(text), "ftok:%s/no/such/dir:1",
		 shmkit_test_tmpdir());
	parse_ok(&a, text);
	SHMKIT_ASSERT_ERR(shmkit_addr_key(&a, &key), -ENOENT);
	SHMKIT_ASSERT_EQ(key, 12345);
}

static void
test_key_other_kinds_einval(void)
{
	static const char *const others[] = {"posix:/name", "/name",
					     "sysv-id:12",  "file:/tmp",
					     "memfd:x",	    NULL};
	shmkit_addr_t a;
	shmkit_key_t key = 12345;
	size_t i;

	for (i = 0; others[i] != NULL; i++) {
		parse_ok(&a, others[i]);
		SHMKIT_ASSERT_ERR(shmkit_addr_key(&a, &key), -EINVAL);
		SHMKIT_ASSERT_EQ(key, 12345);
	}
}

static void
test_addr_backend_all_kinds(void)
{
	static const struct {
		const char *text;
		shmkit_backend_t backend;
	} cases[] = {
		{"sysv:0x44", SHMKIT_BACKEND_SYSV},
		{"sysv-id:3", SHMKIT_BACKEND_SYSV},
		{"ftok:/tmp:1", SHMKIT_BACKEND_SYSV},
		{"posix:/n", SHMKIT_BACKEND_POSIX},
		{"/n", SHMKIT_BACKEND_POSIX},
		{"file:/a", SHMKIT_BACKEND_FILE},
		{"memfd:m", SHMKIT_BACKEND_MEMFD},
	};
	shmkit_addr_t a;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		parse_ok(&a, cases[i].text);
		SHMKIT_ASSERT_EQ(shmkit_addr_backend(&a), cases[i].backend);
	}
	SHMKIT_ASSERT_EQ(shmkit_addr_backend(NULL), 0);
	a.kind = (shmkit_addr_kind_t)0;
	SHMKIT_ASSERT_EQ(shmkit_addr_backend(&a), 0);
	a.kind = (shmkit_addr_kind_t)99;
	SHMKIT_ASSERT_EQ(shmkit_addr_backend(&a), 0);
}

static void
test_backend_name_all(void)
{
	SHMKIT_ASSERT_STREQ(shmkit_backend_name(SHMKIT_BACKEND_SYSV), "sysv");
	SHMKIT_ASSERT_STREQ(shmkit_backend_name(SHMKIT_BACKEND_POSIX), "posix");
	SHMKIT_ASSERT_STREQ(shmkit_backend_name(SHMKIT_BACKEND_FILE), "file");
	SHMKIT_ASSERT_STREQ(shmkit_backend_name(SHMKIT_BACKEND_MEMFD), "memfd");
	SHMKIT_ASSERT_STREQ(shmkit_backend_name((shmkit_backend_t)0), "?");
	SHMKIT_ASSERT_STREQ(shmkit_backend_name((shmkit_backend_t)5), "?");
	SHMKIT_ASSERT_STREQ(shmkit_backend_name((shmkit_backend_t)-1), "?");
}

/* ---- fuzz ----------------------------------------------------------- */

#define FUZZ_ROUNDS 200000
#define FUZZ_SEED   0x5eed5a17c0ffee01ull

static uint64_t fuzz_state = FUZZ_SEED;

/* xorshift64*: fixed seed, so a failure reproduces exactly. */
static uint64_t
fuzz_next(void)
{
	fuzz_state ^= fuzz_state >> 12;
	fuzz_state ^= fuzz_state << 25;
	fuzz_state ^= fuzz_state >> 27;
	return fuzz_state * 0x2545f4914f6cdd1dull;
}

static size_t
fuzz_below(size_t n)
{
	return (size_t)(fuzz_next() % n);
}

static const char *const fuzz_seeds[] = {
	"sysv:0x44",
	"sysv:68",
	"sysv:0xFFFFFFFF",
	"sysv:0",
	"sysv-id:0",
	"sysv-id:12",
	"sysv-id:2147483647",
	"ftok:/tmp:1",
	"ftok:/tmp:A",
	"ftok:/a:b:c:255",
	"ftok:/tmp:0xff",
	"ftok::1",
	"posix:/name",
	"/name",
	"/.",
	"/..",
	"//",
	"file:/a/b",
	"file:relative",
	"memfd:x",
	"posix:noslash",
	"sysv:",
	"ftok:",
	"file:",
	"memfd:",
	"",
	":",
	"0x",
	NULL,
};

/* Bytes worth trying: syntax characters, digits, controls, high bytes. */
static const char fuzz_alphabet[] = ":/.0x9aFf-+ \n\t\x1b\x7f\x80\xff"
				    "sysv-id:ftok:posix:file:memfd:";

static char
fuzz_byte(void)
{
	switch (fuzz_below(4)) {
	case 0:
		return (char)(1 + fuzz_below(255)); /* any byte but NUL */
	default:
		return fuzz_alphabet[fuzz_below(sizeof(fuzz_alphabet) - 1)];
	}
}

/* One mutation of the n-byte string in buf (TEXT_MAX bytes); new length. */
static size_t
fuzz_mutate(char *buf, size_t n)
{
	size_t i, k, room = TEXT_MAX - 1 - n;
	const char *s;

	switch (fuzz_below(8)) {
	case 0: /* replace a byte */
		if (n > 0)
			buf[fuzz_below(n)] = fuzz_byte();
		break;
	case 1: /* insert a byte */
		if (room > 0) {
			i = fuzz_below(n + 1);
			memmove(buf + i + 1, buf + i, n - i);
			buf[i] = fuzz_byte();
			n++;
		}
		break;
	case 2: /* delete a byte */
		if (n > 0) {
			i = fuzz_below(n);
			memmove(buf + i, buf + i + 1, n - i - 1);
			n--;
		}
		break;
	case 3: /* truncate */
		n = fuzz_below(n + 1);
		break;
	case 4: /* append another seed */
		s = fuzz_seeds[fuzz_below(
			sizeof(fuzz_seeds) / sizeof(fuzz_seeds[0]) - 1)];
		k = strlen(s);
		if (k <= room) {
			memcpy(buf + n, s, k);
			n += k;
		}
		break;
	case 5: /* a run near a length limit */
		k = (size_t[]){NAME_MAX, SHMKIT_MEMFD_NAME_MAX,
			       SHMKIT_PATH_MAX - 8, 16}[fuzz_below(4)];
		k += fuzz_below(16);
		if (k > room)
			k = room;
		i = fuzz_below(n + 1);
		memmove(buf + i + k, buf + i, n - i);
		memset(buf + i, "a/:0"[fuzz_below(4)], k);
		n += k;
		break;
	case 6: /* replace with digits */
		if (n > 0) {
			i = fuzz_below(n);
			k = 1 + fuzz_below(12);
			for (; k > 0 && i < n; k--, i++)
				buf[i] = (char)('0' + fuzz_below(10));
		}
		break;
	default: /* swap two bytes */
		if (n > 1) {
			char t;

			i = fuzz_below(n);
			k = fuzz_below(n);
			t = buf[i];
			buf[i] = buf[k];
			buf[k] = t;
		}
		break;
	}
	buf[n] = '\0';
	return n;
}

static void
test_fuzz_parse_format_roundtrip(void)
{
	static char text[TEXT_MAX], fmt[SHMKIT_ADDR_STRLEN];
	static char fmt2[SHMKIT_ADDR_STRLEN];
	static shmkit_addr_t a, b, pattern;
	size_t nseeds = sizeof(fuzz_seeds) / sizeof(fuzz_seeds[0]) - 1;
	unsigned long ok = 0, einval = 0, toolong = 0;
	long round;

	memset(&pattern, PATTERN, sizeof(pattern));
	for (round = 0; round < FUZZ_ROUNDS; round++) {
		size_t n, m;
		int rc, len;

		if (fuzz_below(16) == 0) { /* fully random bytes */
			n = fuzz_below(64);
			for (m = 0; m < n; m++)
				text[m] = fuzz_byte();
			text[n] = '\0';
		} else {
			n = strlen(
				strcpy(text, fuzz_seeds[fuzz_below(nseeds)]));
			for (m = 1 + fuzz_below(4); m > 0; m--)
				n = fuzz_mutate(text, n);
		}

		memcpy(&a, &pattern, sizeof(a));
		rc = shmkit_addr_parse(&a, text);
		if (rc == -EINVAL || rc == -ENAMETOOLONG) {
			if (memcmp(&a, &pattern, sizeof(a)) != 0)
				SHMKIT_FAIL("round %ld: parse(\"%s\") = %d "
					    "but wrote its output",
					    round, show(text), rc);
			if (rc == -EINVAL)
				einval++;
			else
				toolong++;
			continue;
		}
		if (rc != 0)
			SHMKIT_FAIL("round %ld: parse(\"%s\") = %d (%s)", round,
				    show(text), rc, shmkit_errname(rc));
		ok++;
		len = shmkit_addr_format(&a, fmt, sizeof(fmt));
		if (len < 0)
			SHMKIT_FAIL("round %ld: format(parse(\"%s\")) = %d",
				    round, show(text), len);
		memset(&b, ~PATTERN & 0xff, sizeof(b));
		rc = shmkit_addr_parse(&b, fmt);
		if (rc != 0)
			SHMKIT_FAIL("round %ld: \"%s\" formats as \"%s\", "
				    "which does not parse: %d",
				    round, show(text), fmt, rc);
		if (a.kind != b.kind || a.key != b.key || a.id != b.id ||
		    a.proj != b.proj ||
		    memcmp(a.path, b.path, strlen(a.path) + 1) != 0)
			SHMKIT_FAIL("round %ld: \"%s\" and its format \"%s\" "
				    "parse differently",
				    round, show(text), show(fmt));
		if (shmkit_addr_format(&b, fmt2, sizeof(fmt2)) != len ||
		    strcmp(fmt, fmt2) != 0)
			SHMKIT_FAIL("round %ld: format is not canonical: "
				    "\"%s\" then \"%s\"",
				    round, show(fmt), show(fmt2));
	}
	/* The generator must reach all three outcomes, or it tests little. */
	if (ok < 1000 || einval < 1000 || toolong < 100)
		SHMKIT_FAIL("fuzz coverage too thin: %lu ok, %lu EINVAL, "
			    "%lu ENAMETOOLONG",
			    ok, einval, toolong);
}

SHMKIT_TESTS = {
	{"parse_sysv_key_hex", test_parse_sysv_key_hex},
	{"parse_sysv_key_decimal", test_parse_sysv_key_decimal},
	{"parse_sysv_key_max", test_parse_sysv_key_max},
	{"parse_sysv_id", test_parse_sysv_id},
	{"parse_ftok_numeric_proj", test_parse_ftok_numeric_proj},
	{"parse_ftok_char_proj", test_parse_ftok_char_proj},
	{"parse_ftok_path_with_colons", test_parse_ftok_path_with_colons},
	{"parse_ftok_proj_255", test_parse_ftok_proj_255},
	{"parse_posix_prefixed", test_parse_posix_prefixed},
	{"parse_posix_bare", test_parse_posix_bare},
	{"parse_file_absolute", test_parse_file_absolute},
	{"parse_file_relative", test_parse_file_relative},
	{"parse_memfd", test_parse_memfd},
	{"parse_path_length_limits", test_parse_path_length_limits},
	{"format_canonical", test_format_canonical},
	{"format_parse_roundtrip", test_format_parse_roundtrip},
	{"bad_null_and_empty", test_bad_null_and_empty},
	{"bad_unknown_prefix", test_bad_unknown_prefix},
	{"bad_sysv_key", test_bad_sysv_key},
	{"bad_sysv_id", test_bad_sysv_id},
	{"bad_ftok", test_bad_ftok},
	{"bad_posix_name", test_bad_posix_name},
	{"bad_empty_file_and_memfd", test_bad_empty_file_and_memfd},
	{"bad_control_bytes_every_kind", test_bad_control_bytes_every_kind},
	{"failed_parse_leaves_out_untouched",
	 test_failed_parse_leaves_out_untouched},
	{"format_small_buffer", test_format_small_buffer},
	{"format_invalid_arguments", test_format_invalid_arguments},
	{"format_rejects_invalid_address", test_format_rejects_invalid_address},
	{"key_sysv", test_key_sysv},
	{"key_ftok_matches_ftok", test_key_ftok_matches_ftok},
	{"key_ftok_missing_path", test_key_ftok_missing_path},
	{"key_other_kinds_einval", test_key_other_kinds_einval},
	{"addr_backend_all_kinds", test_addr_backend_all_kinds},
	{"backend_name_all", test_backend_name_all},
	{"fuzz_parse_format_roundtrip", test_fuzz_parse_format_roundtrip},
	{NULL, NULL},
};
