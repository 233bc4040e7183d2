/*
 * The address syntax: parsing text into a shmkit_addr_t and printing it
 * back. Every consumer (segments, the command, error messages) goes
 * through these two functions, so one spelling names a segment
 * everywhere. Parsing touches no file; ftok's key is computed on demand
 * by shmkit_addr_key() because ftok needs the path to exist.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/ipc.h>

#include <shmkit/addr.h>

#include "common/internal.h"

_Static_assert(SHMKIT_PATH_MAX == PATH_MAX, "SHMKIT_PATH_MAX must be PATH_MAX");
_Static_assert(sizeof(shmkit_key_t) == sizeof(key_t) &&
		       (shmkit_key_t)-1 < 0,
	       "shmkit_key_t must be key_t");

static int
has_control_bytes(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	}
	return 0;
}

/*
 * Parses an unsigned number: decimal, or hex with 0x. No sign, no space,
 * no trailing bytes. Returns 0 and *out, or -EINVAL.
 */
static int
parse_number(const char *s, uint64_t max, uint64_t *out)
{
	int base = 10;
	uint64_t v = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (*s == '\0')
		return -EINVAL;
	for (; *s != '\0'; s++) {
		unsigned d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			return -EINVAL;
		if (v > (max - d) / (unsigned)base)
			return -EINVAL;
		v = v * (unsigned)base + d;
	}
	*out = v;
	return 0;
}

static int
copy_path(shmkit_addr_t *a, const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0)
		return -EINVAL;
	if (n > max)
		return -ENAMETOOLONG;
	memcpy(a->path, s, n + 1);
	return 0;
}

/* The rules for a POSIX name: "/" then 1 to NAME_MAX bytes, no other '/',
 * not "." or "..". */
static int
check_posix(const char *name)
{
	const char *base = name + 1;

	if (name[0] != '/' || *base == '\0' || strchr(base, '/') != NULL)
		return -EINVAL;
	if (strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return -EINVAL;
	if (strlen(base) > NAME_MAX)
		return -ENAMETOOLONG;
	return 0;
}

static int
parse_posix(shmkit_addr_t *a, const char *name)
{
	int rc = check_posix(name);

	if (rc < 0)
		return rc;
	a->kind = SHMKIT_ADDR_POSIX;
	return copy_path(a, name, NAME_MAX + 1);
}

/* ftok:PATH:PROJ, split at the last ':' so paths may hold colons. */
static int
parse_ftok(shmkit_addr_t *a, const char *rest)
{
	const char *colon = strrchr(rest, ':');
	const char *proj = colon ? colon + 1 : NULL;
	size_t plen;
	uint64_t v;

	if (colon == NULL || colon == rest || *proj == '\0')
		return -EINVAL;
	if (proj[1] == '\0' && !(proj[0] >= '0' && proj[0] <= '9')) {
		v = (unsigned char)proj[0];
	} else if (parse_number(proj, 255, &v) < 0 || v == 0) {
		return -EINVAL;
	}
	plen = (size_t)(colon - rest);
	if (plen > SHMKIT_PATH_MAX - 1)
		return -ENAMETOOLONG;
	a->kind = SHMKIT_ADDR_FTOK;
	a->proj = (int)v;
	memcpy(a->path, rest, plen);
	a->path[plen] = '\0';
	return 0;
}

SHMKIT_API int
shmkit_addr_parse(shmkit_addr_t *out, const char *text)
{
	shmkit_addr_t a;
	uint64_t v;
	int rc;

	if (out == NULL || text == NULL || *text == '\0')
		return -EINVAL;
	if (has_control_bytes(text))
		return -EINVAL;
	memset(&a, 0, sizeof(a));

	if (strncmp(text, "sysv:", 5) == 0) {
		rc = parse_number(text + 5, UINT32_MAX, &v);
		if (rc < 0 || v == 0) /* 0 is IPC_PRIVATE: not a name */
			return -EINVAL;
		a.kind = SHMKIT_ADDR_SYSV_KEY;
		a.key = (key_t)(uint32_t)v;
	} else if (strncmp(text, "sysv-id:", 8) == 0) {
		rc = parse_number(text + 8, INT32_MAX, &v);
		if (rc < 0)
			return rc;
		a.kind = SHMKIT_ADDR_SYSV_ID;
		a.id = (int)v;
	} else if (strncmp(text, "ftok:", 5) == 0) {
		rc = parse_ftok(&a, text + 5);
	} else if (strncmp(text, "posix:", 6) == 0) {
		rc = parse_posix(&a, text + 6);
	} else if (text[0] == '/') {
		rc = parse_posix(&a, text);
	} else if (strncmp(text, "file:", 5) == 0) {
		a.kind = SHMKIT_ADDR_FILE;
		rc = copy_path(&a, text + 5, SHMKIT_PATH_MAX - 1);
	} else if (strncmp(text, "memfd:", 6) == 0) {
		a.kind = SHMKIT_ADDR_MEMFD;
		rc = copy_path(&a, text + 6, SHMKIT_MEMFD_NAME_MAX);
	} else {
		return -EINVAL;
	}
	if (rc < 0)
		return rc;
	*out = a;
	return 0;
}

/*
 * Whether *a is an address that shmkit_addr_parse() could have made. The
 * caller may have built it by hand: check it before printing, so format
 * never reads past an unterminated path nor prints text that does not
 * parse back.
 */
static int
check_addr(const shmkit_addr_t *a)
{
	const char *p = a->path;

	switch (a->kind) {
	case SHMKIT_ADDR_SYSV_KEY:
		return a->key != IPC_PRIVATE ? 0 : -EINVAL;
	case SHMKIT_ADDR_SYSV_ID:
		return a->id >= 0 ? 0 : -EINVAL;
	case SHMKIT_ADDR_FTOK:
		if (a->proj < 1 || a->proj > 255)
			return -EINVAL;
		break;
	case SHMKIT_ADDR_POSIX:
	case SHMKIT_ADDR_FILE:
	case SHMKIT_ADDR_MEMFD:
		break;
	default:
		return -EINVAL;
	}
	if (memchr(p, '\0', sizeof(a->path)) == NULL || *p == '\0' ||
	    has_control_bytes(p))
		return -EINVAL;
	if (a->kind == SHMKIT_ADDR_POSIX && check_posix(p) < 0)
		return -EINVAL;
	if (a->kind == SHMKIT_ADDR_MEMFD && strlen(p) > SHMKIT_MEMFD_NAME_MAX)
		return -EINVAL;
	return 0;
}

SHMKIT_API int
shmkit_addr_format(const shmkit_addr_t *a, char *buf, size_t len)
{
	int n;

	if (a == NULL || (buf == NULL && len > 0))
		return -EINVAL;
	if (check_addr(a) < 0)
		return -EINVAL;
	switch (a->kind) {
	case SHMKIT_ADDR_SYSV_KEY:
		n = snprintf(buf, len, "sysv:0x%08" PRIx32, (uint32_t)a->key);
		break;
	case SHMKIT_ADDR_SYSV_ID:
		n = snprintf(buf, len, "sysv-id:%d", a->id);
		break;
	case SHMKIT_ADDR_FTOK:
		n = snprintf(buf, len, "ftok:%s:%d", a->path, a->proj);
		break;
	case SHMKIT_ADDR_POSIX:
		n = snprintf(buf, len, "posix:%s", a->path);
		break;
	case SHMKIT_ADDR_FILE:
		n = snprintf(buf, len, "file:%s", a->path);
		break;
	case SHMKIT_ADDR_MEMFD:
		n = snprintf(buf, len, "memfd:%s", a->path);
		break;
	default:
		return -EINVAL;
	}
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= len) {
		if (len > 0)
			buf[0] = '\0';
		return -ENAMETOOLONG;
	}
	return n;
}

SHMKIT_API shmkit_backend_t
shmkit_addr_backend(const shmkit_addr_t *a)
{
	if (a == NULL)
		return 0;
	switch (a->kind) {
	case SHMKIT_ADDR_SYSV_KEY:
	case SHMKIT_ADDR_SYSV_ID:
	case SHMKIT_ADDR_FTOK:
		return SHMKIT_BACKEND_SYSV;
	case SHMKIT_ADDR_POSIX:
		return SHMKIT_BACKEND_POSIX;
	case SHMKIT_ADDR_FILE:
		return SHMKIT_BACKEND_FILE;
	case SHMKIT_ADDR_MEMFD:
		return SHMKIT_BACKEND_MEMFD;
	}
	return 0;
}

SHMKIT_API int
shmkit_addr_key(const shmkit_addr_t *a, shmkit_key_t *key)
{
	key_t k;

	if (a == NULL || key == NULL || check_addr(a) < 0)
		return -EINVAL;
	if (a->kind == SHMKIT_ADDR_SYSV_KEY) {
		*key = a->key;
		return 0;
	}
	if (a->kind != SHMKIT_ADDR_FTOK)
		return -EINVAL;
	/* ftok(3) fails with -1, but -1 is also a possible key (proj 255,
	 * device and inode bits all ones): errno tells them apart. */
	errno = 0;
	k = ftok(a->path, a->proj);
	if (k == (key_t)-1 && errno != 0)
		return -errno;
	if (k == IPC_PRIVATE)
		return -EINVAL;
	*key = k;
	return 0;
}

SHMKIT_API const char *
shmkit_backend_name(shmkit_backend_t b)
{
	switch (b) {
	case SHMKIT_BACKEND_SYSV:
		return "sysv";
	case SHMKIT_BACKEND_POSIX:
		return "posix";
	case SHMKIT_BACKEND_FILE:
		return "file";
	case SHMKIT_BACKEND_MEMFD:
		return "memfd";
	}
	return "?";
}
