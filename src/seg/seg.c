/*
 * The segment dispatcher: validates arguments, parses the address, picks
 * the back end and owns the handle. Back ends (seg_impl.h) see only
 * checked arguments, so every bad-input rule lives here, once.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "seg/seg_impl.h"

#define SEG_OPEN_FLAGS SHMKIT_SEG_RDONLY
#define SEG_ATTACH_FLAGS SHMKIT_ATTACH_RDONLY
#define SEG_SYNC_FLAGS (SHMKIT_SYNC_ASYNC | SHMKIT_SYNC_INVALIDATE)
#define SEG_DEFAULT_MODE 0600

/* How often open_or_create retries when the segment vanishes between a
 * failed exclusive create and the open (someone unlinked it). */
#define OPEN_OR_CREATE_TRIES 64

/* How long open_or_create waits for a racing creator to size a POSIX or
 * file segment it has just made (it exists with size 0 until then). */
#define HALF_MADE_WAIT_NS (2 * 1000000000L)

static const struct shmkit__seg_ops *
seg_ops(shmkit_backend_t b)
{
	switch (b) {
	case SHMKIT_BACKEND_SYSV:
		return &shmkit__seg_sysv_ops;
	case SHMKIT_BACKEND_POSIX:
		return &shmkit__seg_posix_ops;
	case SHMKIT_BACKEND_FILE:
		return &shmkit__seg_file_ops;
	case SHMKIT_BACKEND_MEMFD:
#ifdef SHMKIT_HAVE_MEMFD
		return &shmkit__seg_memfd_ops;
#endif
		break;
	}
	return NULL; /* caller returns -ENOTSUP */
}

static const shmkit_seg_opts_t default_opts;

/* Parses the address and makes a handle with nothing open yet. */
static int
seg_new(struct shmkit_seg **out, const char *address,
	const shmkit_seg_opts_t *opts)
{
	struct shmkit_seg *seg;
	shmkit_addr_t addr;
	int rc;

	if (address == NULL)
		return -EINVAL;
	if (opts->flags & ~SEG_OPEN_FLAGS)
		return -EINVAL;
	rc = shmkit_addr_parse(&addr, address);
	if (rc < 0)
		return rc;
	seg = calloc(1, sizeof(*seg));
	if (seg == NULL)
		return -ENOMEM;
	seg->ops = seg_ops(shmkit_addr_backend(&addr));
	if (seg->ops == NULL) {
		free(seg);
		return -ENOTSUP;
	}
	seg->addr = addr;
	seg->flags = opts->flags;
	seg->fd = -1;
	seg->shmid = -1;
	*out = seg;
	return 0;
}

/* Checks the size the caller needs against what the segment has. */
static int
check_min_size(const struct shmkit_seg *seg, const shmkit_seg_opts_t *opts)
{
	return seg->size < opts->size ? SHMKIT_ESIZE : 0;
}

static int
create_checked(struct shmkit_seg *seg, const shmkit_seg_opts_t *opts)
{
	mode_t mode = opts->mode ? opts->mode : SEG_DEFAULT_MODE;

	if (opts->size == 0 || (opts->flags & SHMKIT_SEG_RDONLY) ||
	    (opts->mode & ~(mode_t)07777))
		return -EINVAL;
	if (opts->size > (size_t)PTRDIFF_MAX ||
	    shmkit__round_up(opts->size, shmkit__page_size()) == 0)
		return -EFBIG;
	if (seg->addr.kind == SHMKIT_ADDR_SYSV_ID)
		return -EINVAL; /* ids are given by the kernel, not chosen */
	return seg->ops->create(seg, opts->size, mode);
}

static int
open_checked(struct shmkit_seg *seg, const shmkit_seg_opts_t *opts)
{
	int rc = seg->ops->open(seg);

	if (rc < 0)
		return rc;
	rc = check_min_size(seg, opts);
	if (rc < 0)
		seg->ops->close(seg);
	return rc;
}

/*
 * Race-free open-or-create as a step: exclusive create first, so exactly
 * one racer creates; the others see -EEXIST and open. If the segment is
 * removed between the two steps, open fails with -ENOENT and we try again.
 */
static int
open_or_create_checked(struct shmkit_seg *seg, const shmkit_seg_opts_t *opts)
{
	long waited = 0, pause_ns = 50000;
	int tries, rc = -EAGAIN;

	for (tries = 0; tries < OPEN_OR_CREATE_TRIES; tries++) {
		rc = create_checked(seg, opts);
		if (rc == 0)
			return SHMKIT_SEG_CREATED;
		if (rc != -EEXIST)
			return rc;
		rc = open_checked(seg, opts);
		if (rc == 0)
			return SHMKIT_SEG_OPENED;
		/* Size 0: another program (or our O_EXCL fallback, on a file
		 * system without O_TMPFILE) made it and has not sized it yet.
		 * Our own creates never leave it at 0, so wait a little
		 * rather than report SHMKIT_ESIZE. */
		if (rc == SHMKIT_ESIZE && seg->size == 0 &&
		    waited < HALF_MADE_WAIT_NS) {
			struct timespec ts = { 0, pause_ns };

			nanosleep(&ts, NULL);
			waited += pause_ns;
			if (pause_ns < 10000000L)
				pause_ns *= 2;
			tries--; /* waiting is not a vanished segment */
			continue;
		}
		if (rc != -ENOENT)
			return rc;
	}
	return -EAGAIN; /* created and removed under us, again and again */
}

/*
 * What create, open and open_or_create share: check the arguments, make a
 * handle, run step on it, and hand it out only if step succeeded (a failed
 * step has undone its own work, so freeing the handle leaves nothing).
 */
static int
seg_start(shmkit_seg_t **out, const char *address,
	  const shmkit_seg_opts_t *opts,
	  int (*step)(struct shmkit_seg *, const shmkit_seg_opts_t *),
	  const char *what)
{
	struct shmkit_seg *seg;
	int rc;

	if (out == NULL)
		return -EINVAL;
	if (opts == NULL)
		opts = &default_opts;
	rc = seg_new(&seg, address, opts);
	if (rc < 0)
		return rc;
	rc = step(seg, opts);
	if (rc < 0) {
		SHMKIT_DEBUG("seg", "%s %s: %s", what, address,
			     shmkit_strerror(rc));
		free(seg);
		return rc;
	}
	*out = seg;
	return rc;
}

SHMKIT_API int
shmkit_seg_create(shmkit_seg_t **out, const char *address,
		  const shmkit_seg_opts_t *opts)
{
	return seg_start(out, address, opts, create_checked, "create");
}

SHMKIT_API int
shmkit_seg_open(shmkit_seg_t **out, const char *address,
		const shmkit_seg_opts_t *opts)
{
	return seg_start(out, address, opts, open_checked, "open");
}

SHMKIT_API int
shmkit_seg_open_or_create(shmkit_seg_t **out, const char *address,
			  const shmkit_seg_opts_t *opts)
{
	return seg_start(out, address, opts, open_or_create_checked,
			 "open_or_create");
}



/*
 * Learns backend and address of an fd from its /proc/self/fd link:
 * "/memfd:NAME (deleted)", "/dev/shm/NAME", or a file path. Returns 1 if
 * the file's name is gone (" (deleted)"; always so for a memfd).
 */
static int
addr_from_fd(shmkit_addr_t *a, int fd)
{
	static const char deleted[] = " (deleted)";
	char link[64], target[PATH_MAX];
	size_t dl = sizeof(deleted) - 1;
	int gone = 0;
	ssize_t n;

	memset(a, 0, sizeof(*a));
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		n = 0;
	target[n] = '\0';
	if ((size_t)n > dl && strcmp(target + n - dl, deleted) == 0) {
		target[n - dl] = '\0';
		gone = 1;
	}
	if (strncmp(target, "/memfd:", 7) == 0) {
		a->kind = SHMKIT_ADDR_MEMFD;
		snprintf(a->path, sizeof(a->path), "%s", target + 7);
	} else if (strncmp(target, "/dev/shm/", 9) == 0 &&
		   strchr(target + 9, '/') == NULL) {
		a->kind = SHMKIT_ADDR_POSIX;
		snprintf(a->path, sizeof(a->path), "%s", target + 8);
	} else {
		a->kind = SHMKIT_ADDR_FILE;
		snprintf(a->path, sizeof(a->path), "%s", target);
	}
	return gone;
}

/* Makes a handle owning fd (which it closes on failure). */
static int
open_fd_owned(struct shmkit_seg **out, int fd, const shmkit_seg_opts_t *opts)
{
	struct shmkit_seg *seg;
	int acc, rc;

	if (opts->flags & ~SEG_OPEN_FLAGS) {
		rc = -EINVAL;
		goto out_close;
	}
	acc = fcntl(fd, F_GETFL);
	if (acc < 0) {
		rc = -errno;
		goto out_close;
	}
	seg = calloc(1, sizeof(*seg));
	if (seg == NULL) {
		rc = -ENOMEM;
		goto out_close;
	}
	seg->name_gone = addr_from_fd(&seg->addr, fd);
	seg->ops = seg_ops(shmkit_addr_backend(&seg->addr));
	seg->flags = opts->flags;
	if ((acc & O_ACCMODE) == O_RDONLY)
		seg->flags |= SHMKIT_SEG_RDONLY;
	seg->fd = fd;
	seg->shmid = -1;
	rc = seg->ops ? shmkit__fd_size(fd, &seg->size) : -ENOTSUP;
	if (rc == 0)
		rc = check_min_size(seg, opts);
	if (rc < 0) {
		free(seg);
		goto out_close;
	}
	*out = seg;
	return 0;

out_close:
	close(fd);
	return rc;
}

SHMKIT_API int
shmkit_seg_open_fd(shmkit_seg_t **out, int fd, const shmkit_seg_opts_t *opts)
{
	int dup_fd;

	if (opts == NULL)
		opts = &default_opts;
	if (out == NULL)
		return -EINVAL;
	if (fd < 0)
		return -EBADF;
	dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (dup_fd < 0)
		return -errno;
	return open_fd_owned(out, dup_fd, opts);
}

SHMKIT_API int
shmkit_seg_attach(shmkit_seg_t *seg, void **addr, unsigned flags, void *hint)
{
	int rdonly = (flags & SHMKIT_ATTACH_RDONLY) != 0;
	int rc;

	if (seg == NULL || addr == NULL || (flags & ~SEG_ATTACH_FLAGS))
		return -EINVAL;
	if (seg->map != NULL)
		return -EBUSY;
	if ((seg->flags & SHMKIT_SEG_RDONLY) && !rdonly)
		return -EACCES;
	/* A hint in the first page rounds down to NULL, which mmap and
	 * shmat would read as "anywhere": refuse rather than ignore it. */
	if (hint != NULL && (uintptr_t)hint < shmkit__page_size())
		return -EINVAL;
	rc = seg->ops->attach(seg, hint, rdonly);
	if (rc < 0)
		return rc;
	*addr = seg->map;
	return 0;
}

SHMKIT_API int
shmkit_seg_detach(shmkit_seg_t *seg)
{
	if (seg == NULL || seg->map == NULL)
		return -EINVAL;
	return seg->ops->detach(seg);
}

SHMKIT_API void *
shmkit_seg_addr(const shmkit_seg_t *seg)
{
	return seg ? seg->map : NULL;
}

SHMKIT_API size_t
shmkit_seg_size(const shmkit_seg_t *seg)
{
	return seg ? seg->size : 0;
}

SHMKIT_API shmkit_backend_t
shmkit_seg_backend(const shmkit_seg_t *seg)
{
	return seg ? seg->ops->backend : 0;
}

SHMKIT_API int
shmkit_seg_fd(const shmkit_seg_t *seg)
{
	if (seg == NULL)
		return -EINVAL;
	return seg->fd >= 0 ? seg->fd : -ENOTSUP;
}

SHMKIT_API int
shmkit_seg_close(shmkit_seg_t *seg)
{
	int rc = 0, rc2;

	if (seg == NULL)
		return 0;
	if (seg->map != NULL)
		rc = seg->ops->detach(seg);
	rc2 = seg->ops->close(seg);
	free(seg);
	return rc < 0 ? rc : rc2;
}

SHMKIT_API int
shmkit_seg_unlink(shmkit_seg_t *seg)
{
	if (seg == NULL)
		return -EINVAL;
	if (seg->name_gone && seg->ops->backend != SHMKIT_BACKEND_MEMFD)
		return -ENOENT; /* the name may belong to another file now */
	return seg->ops->unlink(seg);
}

SHMKIT_API int
shmkit_seg_unlink_address(const char *address)
{
	const struct shmkit__seg_ops *ops;
	shmkit_addr_t addr;
	int rc;

	if (address == NULL)
		return -EINVAL;
	rc = shmkit_addr_parse(&addr, address);
	if (rc < 0)
		return rc;
	ops = seg_ops(shmkit_addr_backend(&addr));
	if (ops == NULL || ops->unlink_address == NULL)
		return -ENOTSUP;
	return ops->unlink_address(&addr);
}

SHMKIT_API int
shmkit_seg_resize(shmkit_seg_t *seg, size_t size)
{
	if (seg == NULL || size == 0)
		return -EINVAL;
	if (seg->ops->resize == NULL)
		return -ENOTSUP;
	if (seg->map != NULL)
		return -EBUSY;
	if (seg->flags & SHMKIT_SEG_RDONLY)
		return -EBADF;
	if (size > (size_t)PTRDIFF_MAX)
		return -EFBIG;
	return seg->ops->resize(seg, size);
}

SHMKIT_API int
shmkit_seg_sync(shmkit_seg_t *seg, size_t offset, size_t len, unsigned flags)
{
	size_t page = shmkit__page_size(), start;
	int mflags;

	if (seg == NULL || seg->map == NULL || (flags & ~SEG_SYNC_FLAGS))
		return -EINVAL;
	if (offset >= seg->map_len)
		return -EINVAL;
	if (seg->ops->backend != SHMKIT_BACKEND_FILE)
		return 0; /* no backing store to write to */
	if (len == 0 || len > seg->map_len - offset)
		len = seg->map_len - offset;
	start = offset & ~(page - 1);
	len += offset - start;
	mflags = (flags & SHMKIT_SYNC_ASYNC) ? MS_ASYNC : MS_SYNC;
	if (flags & SHMKIT_SYNC_INVALIDATE)
		mflags |= MS_INVALIDATE;
	if (msync((char *)seg->map + start, len, mflags) < 0)
		return -errno;
	return 0;
}

/* Our seal bits and the kernel's, in one table. */
static const struct {
	unsigned ours;
	int kernel;
} seal_map[] = {
	{ SHMKIT_SEAL_SEAL, F_SEAL_SEAL },
	{ SHMKIT_SEAL_SHRINK, F_SEAL_SHRINK },
	{ SHMKIT_SEAL_GROW, F_SEAL_GROW },
	{ SHMKIT_SEAL_WRITE, F_SEAL_WRITE },
	{ SHMKIT_SEAL_FUTURE_WRITE, F_SEAL_FUTURE_WRITE },
};
#define SEAL_COUNT (sizeof(seal_map) / sizeof(seal_map[0]))
#define SEAL_ALL                                                               \
	(SHMKIT_SEAL_SEAL | SHMKIT_SEAL_SHRINK | SHMKIT_SEAL_GROW |           \
	 SHMKIT_SEAL_WRITE | SHMKIT_SEAL_FUTURE_WRITE)

SHMKIT_API int
shmkit_seg_seal(shmkit_seg_t *seg, unsigned seals)
{
	int kernel = 0;
	size_t i;

	if (seg == NULL || seals == 0 || (seals & ~SEAL_ALL))
		return -EINVAL;
	if (seg->ops->backend != SHMKIT_BACKEND_MEMFD)
		return -ENOTSUP;
	for (i = 0; i < SEAL_COUNT; i++) {
		if (seals & seal_map[i].ours)
			kernel |= seal_map[i].kernel;
	}
	if (fcntl(seg->fd, F_ADD_SEALS, kernel) < 0)
		return -errno;
	return 0;
}

SHMKIT_API int
shmkit_seg_seals(const shmkit_seg_t *seg)
{
	int kernel, ours = 0;
	size_t i;

	if (seg == NULL)
		return -EINVAL;
	if (seg->ops->backend != SHMKIT_BACKEND_MEMFD)
		return -ENOTSUP;
	kernel = fcntl(seg->fd, F_GET_SEALS);
	if (kernel < 0)
		return -errno;
	for (i = 0; i < SEAL_COUNT; i++) {
		if (kernel & seal_map[i].kernel)
			ours |= (int)seal_map[i].ours;
	}
	return ours;
}

/* One byte of payload travels with the fd: sendmsg needs data, and the
 * receiver can tell a shmkit segment message from stray bytes. */
#define SEG_MSG_TAG 'S'

SHMKIT_API int
shmkit_seg_send(int sock, const shmkit_seg_t *seg)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	char tag = SEG_MSG_TAG;
	struct iovec iov = { .iov_base = &tag, .iov_len = 1 };
	struct msghdr msg = { 0 };
	struct cmsghdr *cm;
	ssize_t n;

	if (seg == NULL || sock < 0)
		return -EINVAL;
	if (seg->fd < 0)
		return -ENOTSUP;
	memset(&control, 0, sizeof(control));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = control.buf;
	msg.msg_controllen = sizeof(control.buf);
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &seg->fd, sizeof(int));
	do {
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return 0;
}

/* Closes every fd an SCM_RIGHTS message carried, except *keep. */
static void
take_fds(struct msghdr *msg, int *keep)
{
	struct cmsghdr *cm;

	for (cm = CMSG_FIRSTHDR(msg); cm != NULL; cm = CMSG_NXTHDR(msg, cm)) {
		size_t i, count;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < count; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (*keep < 0)
				*keep = fd;
			else
				close(fd);
		}
	}
}

SHMKIT_API int
shmkit_seg_recv(shmkit_seg_t **out, int sock, const shmkit_seg_opts_t *opts)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * 4)];
	} control;
	char tag = 0;
	struct iovec iov = { .iov_base = &tag, .iov_len = 1 };
	struct msghdr msg = { 0 };
	int fd = -1;
	ssize_t n;

	if (out == NULL || sock < 0)
		return -EINVAL;
	if (opts == NULL)
		opts = &default_opts;
	/* Refuse bad flags before reading, so the message is not lost. */
	if (opts->flags & ~SEG_OPEN_FLAGS)
		return -EINVAL;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = control.buf;
	msg.msg_controllen = sizeof(control.buf);
	do {
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ECONNRESET;
	take_fds(&msg, &fd);
	if (fd < 0 || tag != SEG_MSG_TAG || (msg.msg_flags & MSG_CTRUNC)) {
		if (fd >= 0)
			close(fd);
		return -EPROTO;
	}
	return open_fd_owned(out, fd, opts);
}

static void
stat_defaults(const struct shmkit_seg *seg, shmkit_seg_stat_t *st)
{
	memset(st, 0, sizeof(*st));
	st->backend = seg->ops->backend;
	if (shmkit_addr_format(&seg->addr, st->address, sizeof(st->address)) < 0)
		st->address[0] = '\0';
	st->key = -1;
	st->shmid = -1;
	st->uid = (uid_t)-1;
	st->gid = (gid_t)-1;
	st->cuid = (uid_t)-1;
	st->cgid = (gid_t)-1;
	st->nattch = -1;
	st->cpid = -1;
	st->lpid = -1;
	st->seals = -1;
}

SHMKIT_API int
shmkit_seg_stat(const shmkit_seg_t *seg, shmkit_seg_stat_t *st)
{
	shmkit_seg_stat_t tmp;
	int rc;

	if (seg == NULL || st == NULL)
		return -EINVAL;
	stat_defaults(seg, &tmp);
	rc = seg->ops->stat(seg, &tmp);
	if (rc < 0)
		return rc;
	if (tmp.backend == SHMKIT_BACKEND_MEMFD) {
		rc = shmkit_seg_seals(seg);
		tmp.seals = rc < 0 ? -1 : rc;
	}
	tmp.rounded_size = shmkit__round_up(tmp.size, shmkit__page_size());
	*st = tmp;
	return 0;
}

SHMKIT_API int
shmkit_seg_stat_address(const char *address, shmkit_seg_stat_t *st)
{
	const shmkit_seg_opts_t ro = { .flags = SHMKIT_SEG_RDONLY };
	shmkit_seg_t *seg;
	int rc;

	if (st == NULL)
		return -EINVAL;
	rc = shmkit_seg_open(&seg, address, &ro);
	if (rc < 0)
		return rc;
	rc = shmkit_seg_stat(seg, st);
	shmkit_seg_close(seg);
	return rc;
}
