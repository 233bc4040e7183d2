/*
 * File back end: a regular file mapped MAP_SHARED, so the data persists on
 * disk (shmkit_seg_sync() is msync). Paths open with O_NOFOLLOW: a symbolic
 * link planted at the name gives -ELOOP (open) or -EEXIST (create) rather
 * than redirecting our writes.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "seg/seg_impl.h"

static int
file_create(struct shmkit_seg *seg, size_t size, mode_t mode)
{
	int fd, rc;

	fd = open(seg->addr.path,
		  O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	rc = shmkit__fd_prepare(fd, size, (int)mode);
	if (rc < 0)
		goto out_unlink;
	seg->fd = fd;
	seg->size = size;
	return 0;

out_unlink:
	unlink(seg->addr.path);
	close(fd);
	return rc;
}

static int
file_open(struct shmkit_seg *seg)
{
	int oflag = (seg->flags & SHMKIT_SEG_RDONLY) ? O_RDONLY : O_RDWR;
	int fd, rc;

	fd = open(seg->addr.path, oflag | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* Directories, devices and FIFOs are not segments. */
	rc = shmkit__fd_size(fd, &seg->size);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	seg->fd = fd;
	return 0;
}

static int
file_unlink_address(const shmkit_addr_t *a)
{
	struct stat st;

	/* Only regular files: never remove a directory or a device that a
	 * mistyped address names. */
	if (lstat(a->path, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (unlink(a->path) < 0)
		return -errno;
	return 0;
}

static int
file_unlink(struct shmkit_seg *seg)
{
	return file_unlink_address(&seg->addr);
}

const struct shmkit__seg_ops shmkit__seg_file_ops = {
	.backend = SHMKIT_BACKEND_FILE,
	.create = file_create,
	.open = file_open,
	.attach = shmkit__fd_attach,
	.detach = shmkit__fd_detach,
	.stat = shmkit__fd_stat,
	.resize = shmkit__fd_resize,
	.unlink = file_unlink,
	.unlink_address = file_unlink_address,
	.close = shmkit__fd_close,
};
