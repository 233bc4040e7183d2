/*
 * The contract between the segment dispatcher (seg.c) and its back ends
 * (seg_sysv.c, seg_posix.c, seg_file.c, seg_memfd.c, with the mmap-based
 * operations they share in seg_fd.c).
 *
 * seg.c validates every argument, parses the address, allocates the handle
 * and fills seg->addr and seg->flags before calling a back end; back ends
 * trust their arguments. Every op returns 0 or a negative errno and, when
 * it fails, leaves the system and the handle as it found them (undo in
 * reverse, keep the first error).
 */
#ifndef SHMKIT_SEG_IMPL_H
#define SHMKIT_SEG_IMPL_H

#include <shmkit/seg.h>

#include "common/internal.h"

struct shmkit_seg {
	const struct shmkit__seg_ops *ops;
	shmkit_addr_t addr;  /* as parsed, or learned from an fd */
	unsigned flags;      /* SHMKIT_SEG_* given at open/create */
	int fd;              /* fd back ends; -1 for System V */
	int shmid;           /* System V; -1 otherwise */
	size_t size;         /* bytes as created */
	void *map;           /* current mapping or NULL */
	size_t map_len;      /* bytes mapped (fd back ends) */
	int name_gone;       /* opened by fd whose name was deleted */
};

struct shmkit__seg_ops {
	shmkit_backend_t backend;

	/* Make a new segment named seg->addr of size bytes with exactly
	 * mode's permission bits; fail with -EEXIST if the name exists.
	 * Reserve its storage. On success seg->fd or seg->shmid and
	 * seg->size are set. */
	int (*create)(struct shmkit_seg *seg, size_t size, mode_t mode);

	/* Open the existing segment seg->addr (read-only if seg->flags has
	 * SHMKIT_SEG_RDONLY); set fd or shmid and size. -ENOENT if absent. */
	int (*open)(struct shmkit_seg *seg);

	/* Map the whole segment; hint is page/SHMLBA-rounded by the back end.
	 * Sets seg->map (and map_len). */
	int (*attach)(struct shmkit_seg *seg, void *hint, int rdonly);

	/* Unmap seg->map; clear it. */
	int (*detach)(struct shmkit_seg *seg);

	/* Fill every field of *st that the back end knows (seg.c has set the
	 * defaults: -1 and zeroes, and the address). */
	int (*stat)(const struct shmkit_seg *seg, shmkit_seg_stat_t *st);

	/* Change the size (not attached; seg.c checks). NULL: -ENOTSUP. */
	int (*resize)(struct shmkit_seg *seg, size_t size);

	/* Remove the name of an open segment. */
	int (*unlink)(struct shmkit_seg *seg);

	/* Remove the segment named *a without opening it. NULL: -ENOTSUP. */
	int (*unlink_address)(const shmkit_addr_t *a);

	/* Release fd or shmid (the mapping is already gone). */
	int (*close)(struct shmkit_seg *seg);
};

extern const struct shmkit__seg_ops shmkit__seg_sysv_ops;
extern const struct shmkit__seg_ops shmkit__seg_posix_ops;
extern const struct shmkit__seg_ops shmkit__seg_file_ops;
extern const struct shmkit__seg_ops shmkit__seg_memfd_ops;

/* Shared by the fd back ends (seg_fd.c). */

/* Make fd exactly size bytes with storage reserved; -ENOSPC if tmpfs or
 * the disk is full. fchmod to mode first when mode >= 0. */
int shmkit__fd_prepare(int fd, size_t size, int mode);
/* Create path (in directory dir) atomically: fully sized, exact mode,
 * -EEXIST if it exists. Sets *fd. */
int shmkit__fd_create(const char *dir, const char *path, size_t size,
		      mode_t mode, int *fd_out);
/* Size of an fd's file; -EINVAL (as SHMKIT_ESIZE guard) if not a regular
 * file or too large to map. */
int shmkit__fd_size(int fd, size_t *size);
int shmkit__fd_attach(struct shmkit_seg *seg, void *hint, int rdonly);
int shmkit__fd_detach(struct shmkit_seg *seg);
int shmkit__fd_stat(const struct shmkit_seg *seg, shmkit_seg_stat_t *st);
int shmkit__fd_resize(struct shmkit_seg *seg, size_t size);
int shmkit__fd_close(struct shmkit_seg *seg);

#endif /* SHMKIT_SEG_IMPL_H */
