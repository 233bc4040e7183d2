/*
 * System V back end: shmget(2)/shmat(2)/shmctl(2). Segments are found by
 * key (sysv:KEY, ftok:PATH:PROJ) or by shmid (sysv-id:ID). System V has no
 * fds, no resize, and its own notion of removal: IPC_RMID marks the
 * segment for destruction, it loses its key at once and is freed at the
 * last detach. Storage is committed by the kernel's shm accounting
 * (shmall), not by tmpfs, so there is no fallocate step.
 */
#include <errno.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#include "seg/seg_impl.h"

/* System V keeps only the nine permission bits. */
#define SYSV_MODE_MASK 0777

static int
stat_id(int shmid, struct shmid_ds *ds)
{
	if (shmctl(shmid, IPC_STAT, ds) < 0) {
		/* An id that names nothing is EINVAL; say what it means. */
		if (errno == EINVAL || errno == EIDRM)
			return -ENOENT;
		return -errno;
	}
	return 0;
}

static int
sysv_create(struct shmkit_seg *seg, size_t size, mode_t mode)
{
	key_t key;
	int id, rc;

	if (mode & ~(mode_t)SYSV_MODE_MASK)
		return -EINVAL;
	rc = shmkit_addr_key(&seg->addr, &key);
	if (rc < 0)
		return rc;
	id = shmget(key, size, IPC_CREAT | IPC_EXCL | (int)mode);
	if (id < 0)
		return -errno;
	seg->shmid = id;
	seg->size = size;
	return 0;
}

static int
sysv_open(struct shmkit_seg *seg)
{
	struct shmid_ds ds;
	key_t key;
	int id, rc;

	if (seg->addr.kind == SHMKIT_ADDR_SYSV_ID) {
		id = seg->addr.id;
	} else {
		rc = shmkit_addr_key(&seg->addr, &key);
		if (rc < 0)
			return rc;
		/* Asking for the access we will use makes shmget check it:
		 * -EACCES at open, as for the other back ends. */
		id = shmget(key, 0,
			    (seg->flags & SHMKIT_SEG_RDONLY) ? 0400 : 0600);
		if (id < 0)
			return -errno;
	}
	/* IPC_STAT also checks that we may read it: -EACCES now, not at
	 * attach time. */
	rc = stat_id(id, &ds);
	if (rc < 0)
		return rc;
	seg->shmid = id;
	seg->size = ds.shm_segsz;
	return 0;
}

static int
sysv_attach(struct shmkit_seg *seg, void *hint, int rdonly)
{
	int flags = (rdonly ? SHM_RDONLY : 0) | (hint ? SHM_RND : 0);
	void *p = shmat(seg->shmid, hint, flags);

	if (p == (void *)-1)
		return errno == EIDRM ? -ENOENT : -errno;
	seg->map = p;
	seg->map_len = seg->size;
	return 0;
}

static int
sysv_detach(struct shmkit_seg *seg)
{
	if (shmdt(seg->map) < 0)
		return -errno;
	seg->map = NULL;
	seg->map_len = 0;
	return 0;
}

static int
sysv_stat(const struct shmkit_seg *seg, shmkit_seg_stat_t *st)
{
	struct shmid_ds ds;
	int rc = stat_id(seg->shmid, &ds);

	if (rc < 0)
		return rc;
	st->key = ds.shm_perm.__key;
	st->shmid = seg->shmid;
	st->size = ds.shm_segsz;
	st->mode = ds.shm_perm.mode & SYSV_MODE_MASK;
	st->uid = ds.shm_perm.uid;
	st->gid = ds.shm_perm.gid;
	st->cuid = ds.shm_perm.cuid;
	st->cgid = ds.shm_perm.cgid;
	st->nattch = (long)ds.shm_nattch;
	st->cpid = ds.shm_cpid;
	st->lpid = ds.shm_lpid;
	st->atime.tv_sec = ds.shm_atime;
	st->dtime.tv_sec = ds.shm_dtime;
	st->ctime.tv_sec = ds.shm_ctime;
	st->marked_for_destruction = (ds.shm_perm.mode & SHM_DEST) != 0;
	return 0;
}

static int
rmid(int shmid)
{
	if (shmctl(shmid, IPC_RMID, NULL) < 0)
		return (errno == EINVAL || errno == EIDRM) ? -ENOENT : -errno;
	return 0;
}

static int
sysv_unlink(struct shmkit_seg *seg)
{
	return rmid(seg->shmid);
}

static int
sysv_unlink_address(const shmkit_addr_t *a)
{
	key_t key;
	int id, rc;

	if (a->kind == SHMKIT_ADDR_SYSV_ID)
		return rmid(a->id);
	rc = shmkit_addr_key(a, &key);
	if (rc < 0)
		return rc;
	id = shmget(key, 0, 0);
	if (id < 0)
		return -errno;
	return rmid(id);
}

static int
sysv_close(struct shmkit_seg *seg)
{
	seg->shmid = -1; /* a shmid holds no resource in this process */
	return 0;
}

const struct shmkit__seg_ops shmkit__seg_sysv_ops = {
	.backend = SHMKIT_BACKEND_SYSV,
	.create = sysv_create,
	.open = sysv_open,
	.attach = sysv_attach,
	.detach = sysv_detach,
	.stat = sysv_stat,
	.resize = NULL, /* System V segments have a fixed size */
	.unlink = sysv_unlink,
	.unlink_address = sysv_unlink_address,
	.close = sysv_close,
};
