/*
 * What the fd-based back ends (POSIX, file, memfd) share: reserving
 * storage, mapping with mmap(2), fstat-based stat, and resizing. The three
 * differ only in how the fd is made, found and removed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "seg/seg_impl.h"

/* Largest size we agree to map: the kernel's off_t and ptrdiff_t limits. */
#define SEG_SIZE_MAX ((size_t)PTRDIFF_MAX)

/*
 * Reserves [0, size) with posix_fallocate so tmpfs or the disk refuses now
 * (-ENOSPC) instead of raising SIGBUS on first touch later. File systems
 * without fallocate fall back to ftruncate: sparse, but still sized.
 */
static int
reserve(int fd, size_t size)
{
	int err = shmkit__sys.posix_fallocate(fd, 0, (off_t)size);

	if (err == EOPNOTSUPP || err == ENOSYS) {
		if (shmkit__sys.ftruncate(fd, (off_t)size) < 0)
			return -errno;
		return 0;
	}
	return -err;
}

int
shmkit__fd_prepare(int fd, size_t size, int mode)
{
	int rc;

	if (size > SEG_SIZE_MAX)
		return -EFBIG;
	rc = reserve(fd, size);
	if (rc < 0)
		return rc;
	/* fchmod after creation, so the mode ignores the umask; and after
	 * sizing, so nobody the mode admits can open it half-made. */
	if (mode >= 0 && fchmod(fd, (mode_t)mode) < 0)
		return -errno;
	return 0;
}

int
shmkit__fd_size(int fd, size_t *size)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if ((uintmax_t)st.st_size > SEG_SIZE_MAX)
		return -EFBIG;
	*size = (size_t)st.st_size;
	return 0;
}

int
shmkit__fd_attach(struct shmkit_seg *seg, void *hint, int rdonly)
{
	int prot = PROT_READ | (rdonly ? 0 : PROT_WRITE);
	int flags = MAP_SHARED;
	size_t size;
	void *want = NULL, *p;
	int rc;

	/* The segment may have been resized by another process since open:
	 * map what is there now. */
	rc = shmkit__fd_size(seg->fd, &size);
	if (rc < 0)
		return rc;
	if (size == 0)
		return -EINVAL; /* nothing to map */
	if (hint != NULL) {
		uintptr_t mask = (uintptr_t)shmkit__page_size() - 1;

		want = (void *)((uintptr_t)hint & ~mask);
		/* Never replace a mapping the caller already has there. */
		flags |= MAP_FIXED_NOREPLACE;
	}
	p = mmap(want, size, prot, flags, seg->fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	if (want != NULL && p != want) {
		/* A kernel older than 4.17 treats the flag as a plain hint. */
		munmap(p, size);
		return -EEXIST;
	}
	seg->size = size;
	seg->map = p;
	seg->map_len = size;
	return 0;
}

int
shmkit__fd_detach(struct shmkit_seg *seg)
{
	if (munmap(seg->map, seg->map_len) < 0)
		return -errno;
	seg->map = NULL;
	seg->map_len = 0;
	return 0;
}

int
shmkit__fd_stat(const struct shmkit_seg *seg, shmkit_seg_stat_t *st)
{
	struct stat sb;

	if (fstat(seg->fd, &sb) < 0)
		return -errno;
	st->size = (size_t)sb.st_size;
	st->mode = sb.st_mode & 07777;
	st->uid = sb.st_uid;
	st->gid = sb.st_gid;
	st->atime = sb.st_atim;
	st->mtime = sb.st_mtim;
	st->ctime = sb.st_ctim;
	return 0;
}

int
shmkit__fd_resize(struct shmkit_seg *seg, size_t size)
{
	size_t old;
	int rc;

	if (size > SEG_SIZE_MAX)
		return -EFBIG;
	rc = shmkit__fd_size(seg->fd, &old);
	if (rc < 0)
		return rc;
	if (size > old)
		rc = reserve(seg->fd, size);
	else if (size < old && shmkit__sys.ftruncate(seg->fd, (off_t)size) < 0)
		rc = -errno;
	if (rc < 0)
		return rc;
	seg->size = size;
	return 0;
}

int
shmkit__fd_close(struct shmkit_seg *seg)
{
	int rc = 0;

	/* close(2) releases the fd even when it reports an error. */
	if (seg->fd >= 0 && close(seg->fd) < 0)
		rc = -errno;
	seg->fd = -1;
	return rc;
}

/*
 * Makes path as a new file of size bytes with exactly mode, visible to
 * others only once complete. The file is built unnamed (O_TMPFILE in
 * dir), reserved and chmod'ed, then linked at path, which fails with
 * -EEXIST like O_EXCL. So nobody can open a half-made segment (size 0, or
 * still mode 0600), and a failed create leaves nothing: the unnamed file
 * goes with its fd. File systems without O_TMPFILE, or a system without
 * /proc, get the classic O_EXCL create, which leaves that window open.
 */
int
shmkit__fd_create(const char *dir, const char *path, size_t size,
		  mode_t mode, int *fd_out)
{
	char proc[64];
	int fd, rc;

	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0 && errno != EOPNOTSUPP && errno != EISDIR)
		return -errno;
	if (fd < 0)
		goto classic;
	rc = shmkit__fd_prepare(fd, size, (int)mode);
	if (rc < 0)
		goto out_close;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0) {
		*fd_out = fd;
		return 0;
	}
	rc = -errno;
	if (rc != -ENOENT || access("/proc/self/fd", F_OK) == 0)
		goto out_close; /* -EEXIST is normal: open_or_create opens */
	close(fd);

classic:
	/* Created 0600 and widened only once sized: nobody else can open
	 * it half-made, and the umask has no say. */
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0)
		return -errno;
	rc = shmkit__fd_prepare(fd, size, (int)mode);
	if (rc < 0) {
		unlink(path);
		goto out_close;
	}
	*fd_out = fd;
	return 0;

out_close:
	close(fd);
	return rc;
}
