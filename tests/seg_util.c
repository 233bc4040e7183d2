/*
 * Helpers shared by the segment tests (see seg_util.h).
 */
#include "seg_util.h"

#include <stdio.h>
#include <string.h>

#include "shmkit_test.h"

void
seg_name(char *buf, const char *backend)
{
	snprintf(buf, NAMELEN, "%s", shmkit_test_name(backend));
}

void
pattern_fill(void *p, size_t n, unsigned seed)
{
	unsigned char *c = p;
	size_t i;

	for (i = 0; i < n; i++)
		c[i] = (unsigned char)(seed + i * 31u);
}

long
pattern_check(const void *p, size_t n, unsigned seed)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < n; i++) {
		if (c[i] != (unsigned char)(seed + i * 31u))
			return (long)i;
	}
	return -1;
}

int
bytes_all_zero(const void *p, size_t n)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < n; i++) {
		if (c[i] != 0)
			return 0;
	}
	return 1;
}

shmkit_seg_t *
seg_make(const char *addr, size_t size)
{
	shmkit_seg_opts_t o = { .size = size };
	shmkit_seg_t *s = NULL;
	int rc = shmkit_seg_create(&s, addr, &o);

	/* A build without memfd support is legitimate; memfd_available
	 * fails if the kernel has memfd and the build lacks it. */
	if (rc == -ENOTSUP && strncmp(addr, "memfd:", 6) == 0)
		SHMKIT_SKIP("memfd not built in");
	SHMKIT_ASSERT_OK(rc);
	SHMKIT_ASSERT(s != NULL);
	return s;
}

void *
seg_map(shmkit_seg_t *s, unsigned flags)
{
	void *p = NULL;

	SHMKIT_ASSERT_OK(shmkit_seg_attach(s, &p, flags, NULL));
	SHMKIT_ASSERT(p != NULL);
	return p;
}

void
seg_destroy(shmkit_seg_t *s)
{
	SHMKIT_ASSERT_OK(shmkit_seg_unlink(s));
	SHMKIT_ASSERT_OK(shmkit_seg_close(s));
}
