/*
 * The system-call table and small process-wide helpers.
 *
 * Library code calls the few system calls whose failures are hard to
 * provoke for real (posix_fallocate's ENOSPC, ftruncate's EINTR) through
 * shmkit__sys, so the tests, linked statically, can swap in a failing
 * version. The table is not exported from the shared library.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/internal.h"

struct shmkit__sys shmkit__sys = {
	.posix_fallocate = posix_fallocate,
	.ftruncate = ftruncate,
};

void
shmkit__sys_reset(void)
{
	shmkit__sys.posix_fallocate = posix_fallocate;
	shmkit__sys.ftruncate = ftruncate;
}

size_t
shmkit__page_size(void)
{
	static size_t cached;
	long v;

	/* A benign race: every thread computes the same value. */
	if (__atomic_load_n(&cached, __ATOMIC_RELAXED) == 0) {
		v = sysconf(_SC_PAGESIZE);
		__atomic_store_n(&cached, v > 0 ? (size_t)v : 4096,
				 __ATOMIC_RELAXED);
	}
	return __atomic_load_n(&cached, __ATOMIC_RELAXED);
}

int
shmkit__debug_enabled(const char *module)
{
	const char *env = getenv("SHMKIT_DEBUG");
	size_t n = strlen(module);
	const char *p;

	if (env == NULL || *env == '\0')
		return 0;
	if (strcmp(env, "all") == 0 || strcmp(env, "1") == 0)
		return 1;
	for (p = env; (p = strstr(p, module)) != NULL; p += n) {
		if ((p == env || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
			return 1;
	}
	return 0;
}

void
shmkit__debug(const char *module, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "shmkit[%d] %s: ", (int)getpid(),
		     module);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	/* One write per line so lines from several processes do not mix. */
	strcat(line, "\n");
	if (write(STDERR_FILENO, line, strlen(line)) < 0)
		return;
}
