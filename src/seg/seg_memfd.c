/*
 * memfd back end: anonymous memory with a file descriptor
 * (memfd_create(2)). It has no system-wide name: processes share it by
 * fork or by passing the fd over a unix socket (shmkit_seg_send/recv), so
 * open by address is -ENOTSUP and unlink has nothing to do. Created with
 * MFD_ALLOW_SEALING so the owner can seal it (shmkit_seg_seal).
 */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "seg/seg_impl.h"

static int
memfd_create_seg(struct shmkit_seg *seg, size_t size, mode_t mode)
{
	int fd, rc;

	fd = memfd_create(seg->addr.path, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	rc = shmkit__fd_prepare(fd, size, (int)mode);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	seg->fd = fd;
	seg->size = size;
	return 0;
}

static int
memfd_open(struct shmkit_seg *seg)
{
	(void)seg;
	return -ENOTSUP; /* no name to look up: use shmkit_seg_open_fd() */
}

static int
memfd_unlink(struct shmkit_seg *seg)
{
	(void)seg;
	return 0; /* the memory goes with the last fd and mapping */
}

const struct shmkit__seg_ops shmkit__seg_memfd_ops = {
	.backend = SHMKIT_BACKEND_MEMFD,
	.create = memfd_create_seg,
	.open = memfd_open,
	.attach = shmkit__fd_attach,
	.detach = shmkit__fd_detach,
	.stat = shmkit__fd_stat,
	.resize = shmkit__fd_resize,
	.unlink = memfd_unlink,
	.unlink_address = NULL,
	.close = shmkit__fd_close,
};
