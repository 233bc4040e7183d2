/*
 * POSIX shared memory back end: shm_open(3) objects on /dev/shm. glibc's
 * shm_open already adds O_NOFOLLOW and O_CLOEXEC. The name was validated
 * by the address parser (leading '/', no other '/', at most NAME_MAX).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "seg/seg_impl.h"

/* Where glibc's shm_open(3) keeps POSIX objects on Linux. */
#define SHM_DIR "/dev/shm"

static int
posix_create(struct shmkit_seg *seg, size_t size, mode_t mode)
{
	char path[sizeof(SHM_DIR) + SHMKIT_PATH_MAX];
	int fd, rc;

	/* shm_open(O_CREAT | O_EXCL) is open(2) on /dev/shm; building the
	 * object unnamed and linking it there makes it appear complete. */
	snprintf(path, sizeof(path), SHM_DIR "%s", seg->addr.path);
	rc = shmkit__fd_create(SHM_DIR, path, size, mode, &fd);
	if (rc < 0)
		return rc;
	seg->fd = fd;
	seg->size = size;
	return 0;
}

static int
posix_open(struct shmkit_seg *seg)
{
	int oflag = (seg->flags & SHMKIT_SEG_RDONLY) ? O_RDONLY : O_RDWR;
	int fd, rc;

	fd = shm_open(seg->addr.path, oflag | O_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = shmkit__fd_size(fd, &seg->size);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	seg->fd = fd;
	return 0;
}

static int
posix_unlink_address(const shmkit_addr_t *a)
{
	if (shm_unlink(a->path) < 0)
		return -errno;
	return 0;
}

static int
posix_unlink(struct shmkit_seg *seg)
{
	return posix_unlink_address(&seg->addr);
}

const struct shmkit__seg_ops shmkit__seg_posix_ops = {
	.backend = SHMKIT_BACKEND_POSIX,
	.create = posix_create,
	.open = posix_open,
	.attach = shmkit__fd_attach,
	.detach = shmkit__fd_detach,
	.stat = shmkit__fd_stat,
	.resize = shmkit__fd_resize,
	.unlink = posix_unlink,
	.unlink_address = posix_unlink_address,
	.close = shmkit__fd_close,
};
