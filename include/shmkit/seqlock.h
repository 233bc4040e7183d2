/*
 * shmkit/seqlock.h: lock-free consistent reads of a small record in
 * shared memory.
 *
 * A seqlock guards a record (a few cache lines at most) that one writer at
 * a time updates and any number of readers copy out. Readers never write
 * to shared memory, never block the writer, and never see a torn record:
 * they copy it and retry if a write overlapped the copy. Writers are
 * serialised by a robust shmkit_mutex_t inside the seqlock, so a writer
 * that dies mid-write is detected and the next writer repairs the record.
 *
 * The shmkit_seqlock_t and the record it guards are placed by the caller in
 * memory every user maps; the seqlock holds no pointers and is 128 bytes,
 * 8-byte aligned, in every build. The record is wherever the caller likes
 * (usually right after the seqlock).
 *
 * Reading with your own copy code:
 *
 *	uint32_t seq;
 *	do {
 *		rc = shmkit_seqlock_read_begin(sl, &seq);
 *		if (rc < 0)
 *			return rc;
 *		shmkit_seqlock_load(&mine, &shared->rec, sizeof(mine));
 *	} while (shmkit_seqlock_read_retry(sl, seq));
 *
 * Between begin and retry the record may be changing under the reader:
 * copy it with shmkit_seqlock_load(), whose acquire atomic loads keep
 * read_retry's check after the copy and make the race defined behaviour
 * (a plain memcpy gives neither), and do not act on what was read until
 * retry says it is consistent. Likewise writers store into the record
 * only with shmkit_seqlock_store(), whose release stores keep the
 * write-in-progress mark before them.
 *
 * A reader waits while a write is in progress, but not for ever: if the
 * write does not end within SHMKIT_SEQLOCK_READ_TIMEOUT_MS, or the writer
 * is found dead with the write open, the read fails (see read_begin).
 *
 * Threads and processes: the read functions may be called concurrently
 * from any number of threads and processes, also through a read-only
 * mapping; the write functions from any thread of any process with the
 * memory mapped writable. init and fini need exclusive access.
 */
#ifndef SHMKIT_SEQLOCK_H
#define SHMKIT_SEQLOCK_H

#include <stddef.h>
#include <stdint.h>

#include <shmkit/common.h>
#include <shmkit/mutex.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The seqlock as stored in shared memory. Opaque. */
typedef struct shmkit_seqlock {
	uint64_t shmkit__opaque[16];
} __attribute__((aligned(8))) shmkit_seqlock_t;

/* How long a reader waits for a write in progress to end. */
#define SHMKIT_SEQLOCK_READ_TIMEOUT_MS 1000

/* Positive return of shmkit_seqlock_write(): written, and a writer that had
 * died mid-write was recovered from. */
#define SHMKIT_SEQLOCK_RECOVERED 1

/*
 * shmkit_seqlock_init - make *sl a fresh seqlock with no write in progress.
 *
 * sl points into memory the caller owns; shmkit keeps no reference. The
 * record it guards is not touched. Needs exclusive access.
 *
 * Returns 0, or -EINVAL (sl is NULL) and the errors of shmkit_mutex_init().
 */
SHMKIT_API int shmkit_seqlock_init(shmkit_seqlock_t *sl);

/*
 * shmkit_seqlock_fini - retire a seqlock nobody uses any more; later calls
 * return SHMKIT_ECORRUPT. Needs exclusive access.
 *
 * Returns 0, or -EINVAL, -EBUSY (a live writer holds it), SHMKIT_ECORRUPT,
 * SHMKIT_EABI.
 */
SHMKIT_API int shmkit_seqlock_fini(shmkit_seqlock_t *sl);

/*
 * shmkit_seqlock_read_begin - start a read: wait until no write is in
 * progress and store the sequence number to hand to read_retry in *seq.
 *
 * Never writes to *sl. Does not block writers. Waiting is bounded: it
 * spins briefly, then sleeps in short steps.
 *
 * Returns 0, or:
 *   -ETIMEDOUT       a write stayed in progress for
 *                    SHMKIT_SEQLOCK_READ_TIMEOUT_MS (a writer that is
 *                    stopped, or that died in a way the kernel did not
 *                    report, or a sequence number overwritten by a peer).
 *   SHMKIT_EBROKEN   the writer died in the middle of a write: the record
 *                    is torn until the next writer rewrites it.
 *   -EINVAL          sl or seq is NULL.
 *   SHMKIT_ECORRUPT, SHMKIT_EABI  the seqlock's header is not valid.
 * *seq is written only on success.
 */
SHMKIT_API int shmkit_seqlock_read_begin(const shmkit_seqlock_t *sl,
					 uint32_t *seq);

/*
 * shmkit_seqlock_read_retry - end a read begun with read_begin: 0 if the
 * data copied since then is consistent, 1 if a write overlapped and the
 * read must be retried from read_begin. Never fails; a NULL sl gives 1.
 */
SHMKIT_API int shmkit_seqlock_read_retry(const shmkit_seqlock_t *sl,
					 uint32_t seq);

/*
 * shmkit_seqlock_read - copy len bytes from the shared record at src to
 * the caller's dst, consistently: begin, copy, retry until a copy is not
 * overlapped by a write. dst and src must not overlap.
 *
 * Bounded: gives up with -ETIMEDOUT if no consistent copy could be made
 * within SHMKIT_SEQLOCK_READ_TIMEOUT_MS (writers never pausing long enough
 * for one copy).
 *
 * Returns 0, or the errors of read_begin, and -EINVAL (a NULL pointer with
 * len > 0). dst is only meaningful on success.
 */
SHMKIT_API int shmkit_seqlock_read(const shmkit_seqlock_t *sl, void *dst,
				   const void *src, size_t len);

/*
 * shmkit_seqlock_write_begin - become the writer: take the write mutex
 * (waiting as shmkit_mutex_lock() does) and mark a write in progress, so
 * readers retry. Store into the record with shmkit_seqlock_store(), then
 * call shmkit_seqlock_write_end() from the same thread.
 *
 * Returns 0, or:
 *   -EOWNERDEAD      the caller is now the writer, but the previous writer
 *                    died holding the seqlock, possibly mid-write: the
 *                    record may be torn. Rewrite all of it, then
 *                    write_end; readers get consistent data again then.
 *   -EDEADLK         the calling thread is already the writer.
 *   -EINVAL, SHMKIT_ECORRUPT, SHMKIT_EABI  as shmkit_mutex_lock().
 * Only 0 and -EOWNERDEAD make the caller the writer.
 */
SHMKIT_API int shmkit_seqlock_write_begin(shmkit_seqlock_t *sl);

/*
 * shmkit_seqlock_write_end - publish the write and stop being the writer.
 *
 * Returns 0, or -EPERM (the calling thread is not the writer), -EINVAL,
 * SHMKIT_ECORRUPT, SHMKIT_EABI.
 */
SHMKIT_API int shmkit_seqlock_write_end(shmkit_seqlock_t *sl);

/*
 * shmkit_seqlock_write - replace len bytes of the shared record at dst
 * with the caller's src: write_begin, store, write_end. dst and src must
 * not overlap.
 *
 * Returns 0, SHMKIT_SEQLOCK_RECOVERED (written; the previous writer had
 * died holding the seqlock, so any part of the record outside
 * [dst, dst + len) may still be torn), or the errors of write_begin and
 * -EINVAL (a NULL pointer with len > 0).
 */
SHMKIT_API int shmkit_seqlock_write(shmkit_seqlock_t *sl, void *dst,
				    const void *src, size_t len);

/*
 * shmkit_seqlock_load - copy len bytes out of a record that may be
 * written concurrently, with acquire atomic loads (whole words where the
 * alignment allows). Use between read_begin and read_retry.
 */
SHMKIT_API void shmkit_seqlock_load(void *dst, const void *src, size_t len);

/*
 * shmkit_seqlock_store - copy len bytes into a record that readers may be
 * copying concurrently, with release atomic stores. Use between
 * write_begin and write_end.
 */
SHMKIT_API void shmkit_seqlock_store(void *dst, const void *src, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* SHMKIT_SEQLOCK_H */
