/*
 * Internal declarations shared across libshmkit's files: the overridable
 * system-call table (tests inject ENOSPC and EINTR through it), debug
 * output, and small helpers. Nothing here is exported.
 */
#ifndef SHMKIT_INTERNAL_H
#define SHMKIT_INTERNAL_H

#include <stddef.h>
#include <sys/types.h>

#include <shmkit/error.h>

#ifndef SHMKIT_BUILDING
#define SHMKIT_BUILDING 1
#endif

/*
 * System calls that tests need to fail on demand. Each member has the
 * signature and return convention of the libc function it stands for;
 * library code calls shmkit__sys.x(...) instead of x(...).
 */
struct shmkit__sys {
	int (*posix_fallocate)(int fd, off_t offset, off_t len);
	int (*ftruncate)(int fd, off_t len);
};
extern struct shmkit__sys shmkit__sys;

/* Restore shmkit__sys to the real libc functions. */
void shmkit__sys_reset(void);

/*
 * Debug output, enabled per module by SHMKIT_DEBUG=seg,addr (or "all").
 * The only place the library writes to stderr.
 */
int shmkit__debug_enabled(const char *module);
void shmkit__debug(const char *module, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define SHMKIT_DEBUG(module, ...)                                              \
	do {                                                                   \
		if (shmkit__debug_enabled(module))                             \
			shmkit__debug(module, __VA_ARGS__);                    \
	} while (0)

/* The system page size, cached. */
size_t shmkit__page_size(void);

/* x rounded up to a multiple of align (a power of two); 0 on overflow. */
static inline size_t
shmkit__round_up(size_t x, size_t align)
{
	if (x > (size_t)-1 - (align - 1))
		return 0;
	return (x + align - 1) & ~(align - 1);
}

#endif /* SHMKIT_INTERNAL_H */
