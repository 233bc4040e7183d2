/*
 * shmkit/seg.h: shared memory segments over System V, POSIX, file and
 * memfd, behind one address syntax (<shmkit/addr.h>).
 *
 * A shmkit_seg_t is a process-local handle on one segment: the open object
 * (fd or shmid) and at most one mapping of it. Segments stay raw: shmkit
 * writes no header into them, so programs that use the system calls
 * directly can share them.
 *
 * Lifetime: shmkit_seg_close() detaches and frees the handle but never
 * removes the segment; shmkit_seg_unlink() removes its name. The memory
 * itself lives until the last process detaches. A pointer from
 * shmkit_seg_attach() is valid until shmkit_seg_detach() or
 * shmkit_seg_close() on that handle.
 *
 * Threads: a handle may be used by one thread at a time; different handles
 * are independent. Fork: the child inherits the fd (or shmid) and the
 * mapping (System V attachments are inherited by fork(2) too) but must not
 * use the parent's handle after the parent closes it; exec closes every fd
 * shmkit opened (all are close-on-exec) and drops all mappings.
 */
#ifndef SHMKIT_SEG_H
#define SHMKIT_SEG_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include <shmkit/addr.h>
#include <shmkit/common.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct shmkit_seg shmkit_seg_t;

/* Flags for shmkit_seg_opts_t.flags. */
#define SHMKIT_SEG_RDONLY 0x1u /* open for reading only; attach must be \
				  read-only too */

/*
 * Options for create and open. A NULL pointer means all defaults.
 *   size   create: bytes to make (> 0, required). open: the least size the
 *          caller needs (0 = any); a smaller segment gives SHMKIT_ESIZE.
 *   mode   create: permission bits (07777 mask). 0 means 0600. Applied
 *          exactly, whatever the umask. Ignored by open.
 *   flags  SHMKIT_SEG_* bits; any other bit gives -EINVAL.
 */
typedef struct shmkit_seg_opts {
	size_t size;
	mode_t mode;
	unsigned flags;
} shmkit_seg_opts_t;

/* Return values of shmkit_seg_open_or_create(). */
#define SHMKIT_SEG_OPENED 0
#define SHMKIT_SEG_CREATED 1

/*
 * shmkit_seg_create - make a new segment; fail if the name exists.
 *
 * Storage is reserved now (posix_fallocate for POSIX, file and memfd), so
 * a full tmpfs gives -ENOSPC here rather than SIGBUS later. POSIX and file
 * segments are built unnamed (O_TMPFILE) and linked into place complete,
 * so no process ever opens one half-made. A failed create leaves nothing
 * behind. New segments read as zeroes. *out is written only
 * on success; close it with shmkit_seg_close().
 *
 * Errors: -EINVAL (NULL, bad address, size 0, unknown flag, sysv-id:
 * address, mode bits outside 07777), -EEXIST, -EACCES, -ENOSPC, -ENOMEM,
 * -ENAMETOOLONG, -EFBIG (size over the backend's limit), -ENOTSUP (memfd
 * unavailable), and any errno the system calls return.
 */
SHMKIT_API int shmkit_seg_create(shmkit_seg_t **out, const char *address,
				 const shmkit_seg_opts_t *opts);

/*
 * shmkit_seg_open - open an existing segment.
 *
 * Errors: -EINVAL, -ENOENT (no such segment; also a System V segment
 * already marked for destruction, which has lost its key), -EACCES,
 * SHMKIT_ESIZE (smaller than opts->size), -ENOTSUP (memfd: it has no
 * system-wide name; use shmkit_seg_open_fd()), -ELOOP (file: the path is
 * a symbolic link).
 */
SHMKIT_API int shmkit_seg_open(shmkit_seg_t **out, const char *address,
			       const shmkit_seg_opts_t *opts);

/*
 * shmkit_seg_open_or_create - open the segment, or create it if absent.
 *
 * Race-free: tries an exclusive create, and on -EEXIST opens, retrying if
 * the segment vanished in between. Since it may create, opts->size must
 * be > 0 and SHMKIT_SEG_RDONLY is refused (-EINVAL), as for create. Returns SHMKIT_SEG_CREATED or
 * SHMKIT_SEG_OPENED, or a negative error as for create and open. memfd
 * addresses always create.
 */
SHMKIT_API int shmkit_seg_open_or_create(shmkit_seg_t **out,
					 const char *address,
					 const shmkit_seg_opts_t *opts);

/*
 * shmkit_seg_open_fd - a handle on a segment given by a file descriptor
 * (a memfd received over a socket, an inherited shm_open fd, a file).
 *
 * fd is duplicated (close-on-exec); the caller keeps and closes its own.
 * The backend and address are learned from the fd; if its file has been
 * unlinked, shmkit_seg_unlink() on the handle gives -ENOENT rather than
 * remove whatever now has that name. Errors: -EBADF,
 * -EINVAL (not a regular or shared-memory file), SHMKIT_ESIZE.
 */
SHMKIT_API int shmkit_seg_open_fd(shmkit_seg_t **out, int fd,
				  const shmkit_seg_opts_t *opts);

/* Flags for shmkit_seg_attach(). */
#define SHMKIT_ATTACH_RDONLY 0x1u /* writes through the mapping fault */

/*
 * shmkit_seg_attach - map the segment into this process.
 *
 * hint: NULL lets the kernel choose. Otherwise the mapping is placed at
 * hint rounded down to SHMLBA (System V SHM_RND semantics; page size for
 * the other backends), and the call fails rather than map elsewhere or
 * replace an existing mapping: -EEXIST from the fd back ends, -EINVAL
 * from System V. A hint inside the first page is -EINVAL.
 * The whole segment is mapped. *addr receives the address.
 *
 * Errors: -EBUSY (already attached through this handle), -EACCES
 * (read-write attach of a segment opened with SHMKIT_SEG_RDONLY, or denied
 * by its mode), -EINVAL (unknown flag, bad hint), -ENOMEM.
 */
SHMKIT_API int shmkit_seg_attach(shmkit_seg_t *seg, void **addr,
				 unsigned flags, void *hint);

/* shmkit_seg_detach - unmap. -EINVAL if not attached. */
SHMKIT_API int shmkit_seg_detach(shmkit_seg_t *seg);

/* The current mapping, or NULL when not attached. */
SHMKIT_API void *shmkit_seg_addr(const shmkit_seg_t *seg);

/* The segment's size in bytes as created (not page-rounded). */
SHMKIT_API size_t shmkit_seg_size(const shmkit_seg_t *seg);

/* The backend of the segment. */
SHMKIT_API shmkit_backend_t shmkit_seg_backend(const shmkit_seg_t *seg);

/*
 * shmkit_seg_fd - the segment's file descriptor (owned by the handle), or
 * -ENOTSUP for System V, which has none.
 */
SHMKIT_API int shmkit_seg_fd(const shmkit_seg_t *seg);

/*
 * shmkit_seg_close - detach if attached, close, free. Never removes the
 * segment. NULL is a no-op. Returns 0, or the first error from
 * munmap/shmdt/close (the handle is freed all the same).
 */
SHMKIT_API int shmkit_seg_close(shmkit_seg_t *seg);

/*
 * shmkit_seg_unlink - remove the segment's name.
 *
 * POSIX and file: the name is gone at once; processes that have it open
 * or mapped keep using the memory. System V: the segment is marked for
 * destruction (IPC_RMID); it stays usable by the processes attached to
 * it, loses its key (ipcs shows key 0 and status "dest"), and is freed
 * at the last detach. memfd: no name, returns 0. The handle stays valid.
 */
SHMKIT_API int shmkit_seg_unlink(shmkit_seg_t *seg);

/*
 * shmkit_seg_unlink_address - remove a segment by address without
 * opening it (removing needs no read access). Errors: -EINVAL, -ENOENT,
 * -EACCES, -EPERM; memfd gives -ENOTSUP.
 */
SHMKIT_API int shmkit_seg_unlink_address(const char *address);

/*
 * shmkit_seg_resize - change the size of a POSIX, file or memfd segment.
 *
 * Growing reserves storage (-ENOSPC if none). The handle must not be
 * attached (-EBUSY): other processes' mappings keep their old length, and
 * touching pages past a shrunk end raises SIGBUS in them, so coordinate.
 * System V segments cannot change size: -ENOTSUP. memfd sealed against
 * the change: -EPERM. A handle opened with SHMKIT_SEG_RDONLY: -EBADF.
 */
SHMKIT_API int shmkit_seg_resize(shmkit_seg_t *seg, size_t size);

/* Flags for shmkit_seg_sync(). */
#define SHMKIT_SYNC_ASYNC 0x1u /* start writeback, do not wait */
#define SHMKIT_SYNC_INVALIDATE 0x2u

/*
 * shmkit_seg_sync - write a file-backed mapping to disk (msync(2)).
 *
 * offset and len are relative to the mapping and clamped to it (len 0 means
 * to the end); offset is rounded down to a page. Other backends have no
 * backing store: 0. -EINVAL if not attached or offset is past the end.
 */
SHMKIT_API int shmkit_seg_sync(shmkit_seg_t *seg, size_t offset, size_t len,
			       unsigned flags);

/* Seals for shmkit_seg_seal() (memfd only; see memfd_create(2)). */
#define SHMKIT_SEAL_SEAL 0x1u   /* no further seals */
#define SHMKIT_SEAL_SHRINK 0x2u /* size cannot decrease */
#define SHMKIT_SEAL_GROW 0x4u   /* size cannot increase */
#define SHMKIT_SEAL_WRITE 0x8u  /* contents cannot change (no writable map) */
#define SHMKIT_SEAL_FUTURE_WRITE 0x10u /* no new writable mappings */

/*
 * shmkit_seg_seal - add seals to a memfd segment. Seals are permanent and
 * seen by every holder of the fd. Errors: -ENOTSUP (not memfd), -EINVAL
 * (unknown bit), -EPERM (already sealed with SHMKIT_SEAL_SEAL), -EBUSY
 * (SHMKIT_SEAL_WRITE while writable mappings exist).
 */
SHMKIT_API int shmkit_seg_seal(shmkit_seg_t *seg, unsigned seals);

/* The seals of a memfd segment (>= 0), -ENOTSUP for other backends. */
SHMKIT_API int shmkit_seg_seals(const shmkit_seg_t *seg);

/*
 * shmkit_seg_send - send the segment's fd over a connected AF_UNIX socket
 * (SCM_RIGHTS). Any fd-backed segment; System V gives -ENOTSUP (share the
 * address or shmid instead). Errors as sendmsg(2).
 */
SHMKIT_API int shmkit_seg_send(int sock, const shmkit_seg_t *seg);

/*
 * shmkit_seg_recv - receive a segment sent with shmkit_seg_send() and open
 * it as shmkit_seg_open_fd() does. The received fd is close-on-exec and
 * owned by the new handle. Errors: -EPROTO (message without an fd),
 * -ECONNRESET (peer closed), errors of recvmsg(2) and shmkit_seg_open_fd().
 */
SHMKIT_API int shmkit_seg_recv(shmkit_seg_t **out, int sock,
			       const shmkit_seg_opts_t *opts);

/*
 * What is known about a segment. Fields a backend does not have are -1
 * (integers) or zero (times).
 */
typedef struct shmkit_seg_stat {
	shmkit_backend_t backend;
	char address[SHMKIT_ADDR_STRLEN]; /* canonical, see shmkit_addr_format */
	shmkit_key_t key;     /* System V key; 0 once marked for destruction */
	int shmid;            /* System V id */
	size_t size;          /* bytes as created */
	size_t rounded_size;  /* size rounded up to the page size */
	mode_t mode;          /* permission bits only (07777) */
	uid_t uid;            /* owner */
	gid_t gid;
	uid_t cuid;           /* creator (System V) */
	gid_t cgid;
	long nattch;          /* attach count (System V), -1 unknown */
	pid_t cpid;           /* creator pid (System V), -1 unknown */
	pid_t lpid;           /* last shmat/shmdt pid (System V), -1 unknown */
	struct timespec atime; /* last attach (System V) or access */
	struct timespec dtime; /* last detach (System V) */
	struct timespec ctime; /* last change (System V: of shmid_ds) */
	struct timespec mtime; /* last modification (fd backends) */
	int marked_for_destruction; /* System V SHM_DEST: 1 or 0 */
	int seals;            /* memfd seals (SHMKIT_SEAL_*), -1 otherwise */
} shmkit_seg_stat_t;

/*
 * shmkit_seg_stat - describe the segment behind a handle. Reads the kernel's
 * current view (size, attach count, times). Errors: -EINVAL (NULL),
 * -ENOENT (System V segment gone), errors of fstat(2)/shmctl(2).
 */
SHMKIT_API int shmkit_seg_stat(const shmkit_seg_t *seg, shmkit_seg_stat_t *st);

/*
 * shmkit_seg_stat_address - describe a segment by address without mapping
 * it (opens read-only). Errors as shmkit_seg_open().
 */
SHMKIT_API int shmkit_seg_stat_address(const char *address,
				       shmkit_seg_stat_t *st);

#ifdef __cplusplus
}
#endif

#endif /* SHMKIT_SEG_H */
