/*
 * File back end: a regular file mapped MAP_SHARED, so the data persists on
 * disk (shmkit_seg_sync() is msync). Paths open with O_NOFOLLOW: a symbolic
 * link planted at the name gives -ELOOP (open) or -EEXIST (create) rather
 * than redirecting our writes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "seg/seg_impl.h"

static int
file_create(struct shmkit_seg *seg, size_t size, mode_t mode)
{
	char dir[SHMKIT_PATH_MAX];
	char *slash;
	int fd, rc;

	/* The file is built unnamed in the directory it will live in. */
	snprintf(dir, sizeof(dir), "%s", seg->addr.path);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else
		slash[slash == dir] = '\0'; /* keep "/" for files in / */
	rc = shmkit__fd_create(dir, seg->addr.path, size, mode, &fd);
	if (rc < 0)
		return rc;
	seg->fd = fd;
	seg->size = size;
	return 0;
}

static int
file_open(struct shmkit_seg *seg)
{
	int oflag = (seg->flags & SHMKIT_SEG_RDONLY) ? O_RDONLY : O_RDWR;
	int fd, rc;

	/* O_NONBLOCK: opening a FIFO for reading must not wait for a
	 * writer; it is refused just below. It does not change how a
	 * regular file is mapped. */
	fd = open(seg->addr.path, oflag | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		/* A directory is not a segment, whatever the access mode. */
		return errno == EISDIR ? -EINVAL : -errno;
	}
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
