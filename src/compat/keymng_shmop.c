/*
 * The classic KeyMng_Shm* key store (<shmkit/compat/keymng_shmop.h>) on a
 * shmkit key store (<shmkit/keys.h>) in a System V segment, whose shmid
 * is the caller's handle.
 *
 * The classic code attached, scanned every slot and detached on each
 * call. Here each process keeps one open key store per shmid in a small
 * list under a mutex, so a call costs one IPC_STAT (to notice a store
 * another process deleted), a lookup in that list and one hash lookup in
 * the store. Calls in flight hold a reference, so IPC_DelShm() from
 * another thread closes a store only once they are done with it. A child
 * after fork() does not use its parent's handles (the table says a handle
 * is not inherited): it closes them and opens its own.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <time.h>
#include <unistd.h>

#include <shmkit/seg.h>

#include "common/internal.h"
#include "compat/compat_impl.h"
#include "keys/keys_impl.h"

#define NODE_ID_MAX 11 /* NodeSHMInfo ids: NUL-terminated in 12 bytes */

/* Classic programs do not expect mlock to fail: lock where allowed. */
#define STORE_FLAGS SHMKIT_KEYS_NOLOCK_OK

/* How long KeyMng_ShmInit() waits for another process that is creating
 * the store: 2 s in steps of 2 ms. */
#define INIT_WAIT_STEP_NS 2000000L
#define INIT_WAIT_STEPS	  1000
#define INIT_WAIT_SECONDS 2

struct store {
	struct store *next;
	int shmid;
	pid_t pid;     /* process that opened ks */
	unsigned refs; /* calls using ks now */
	int dead;      /* close once refs drops to 0 */
	size_t capacity;
	shmkit_keys_t *ks;
};

static struct store *stores;
static pthread_mutex_t stores_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void
lock_prepare(void)
{
	pthread_mutex_lock(&stores_lock);
}

static void
lock_release(void)
{
	pthread_mutex_unlock(&stores_lock);
}

static void
register_atfork(void)
{
	pthread_atfork(lock_prepare, lock_release, lock_release);
}

/* Unlinks and returns the entries that can be closed now: those a
 * parent process left us through fork, and those of shmid (none if
 * shmid < 0), marking the ones in use dead. Caller holds stores_lock and
 * closes the result without it. */
static struct store *
detach_entries(int shmid, pid_t self)
{
	struct store **pp = &stores, *gone = NULL, *s;

	while ((s = *pp) != NULL) {
		int match = shmid >= 0 && s->shmid == shmid;

		if (s->pid != self) {
			/* Inherited through fork: no call of ours uses it. */
			*pp = s->next;
			s->next = gone;
			gone = s;
			continue;
		}
		if (match)
			s->dead = 1;
		if (match && s->refs == 0) {
			*pp = s->next;
			s->next = gone;
			gone = s;
			continue;
		}
		pp = &s->next;
	}
	return gone;
}

static void
close_entries(struct store *s)
{
	while (s != NULL) {
		struct store *next = s->next;

		shmkit_keys_close(s->ks);
		free(s);
		s = next;
	}
}

void
shmkit__compat_forget(int shmid)
{
	struct store *gone;

	pthread_mutex_lock(&stores_lock);
	gone = detach_entries(shmid, getpid());
	pthread_mutex_unlock(&stores_lock);
	close_entries(gone);
}

/* -ENOENT unless shmid names a segment that is not marked for removal;
 * its shmid_ds into *ds if ds is not NULL. */
static int
check_alive(int shmid, struct shmid_ds *ds)
{
	struct shmid_ds tmp;

	if (ds == NULL)
		ds = &tmp;
	if (shmctl(shmid, IPC_STAT, ds) < 0)
		return (errno == EINVAL || errno == EIDRM) ? -ENOENT : -errno;
	if (ds->shm_perm.mode & SHM_DEST)
		return -ENOENT;
	return 0;
}

/* Finds this process's live entry for shmid and takes a reference. */
static struct store *
find_locked(int shmid, pid_t self)
{
	struct store *s;

	for (s = stores; s != NULL; s = s->next)
		if (s->shmid == shmid && s->pid == self && !s->dead) {
			s->refs++;
			return s;
		}
	return NULL;
}

static int
open_store(int shmid, shmkit_keys_t **ks, size_t *capacity)
{
	char addr[SHMKIT__COMPAT_ADDRLEN];
	shmkit_keys_stat_t st;
	shmkit_seg_t *seg;
	size_t size, need;
	int rc;

	shmkit__compat_id_addr(addr, shmid);
	rc = shmkit_seg_open(&seg, addr, NULL);
	if (rc < 0)
		return rc;
	size = shmkit_seg_size(seg);
	rc = shmkit__keys_open_seg(ks, seg, STORE_FLAGS);
	shmkit_seg_close(seg);
	if (rc < 0)
		return rc;
	rc = shmkit_keys_stat(*ks, &st);
	/* The key store checked its geometry when it opened; check again
	 * what this file relies on, so a looser check there cannot make a
	 * hostile segment pass here: a capacity in the key store's range,
	 * in a segment large enough for a store of that capacity. */
	need = rc == 0 ? shmkit_keys_size(st.capacity) : 0;
	if (rc == 0 && (need == 0 || need > size))
		rc = SHMKIT_ECORRUPT;
	if (rc < 0) {
		shmkit_keys_close(*ks);
		return rc;
	}
	*capacity = st.capacity;
	return 0;
}

/* The open store for shmid, with a reference the caller drops with
 * release(). A negative shmkit error on failure. */
static int
acquire(int shmid, struct store **out)
{
	struct store *s, *gone = NULL, *mine;
	pid_t self = getpid();
	int rc;

	pthread_once(&atfork_once, register_atfork);
	rc = check_alive(shmid, NULL);
	if (rc == -ENOENT)
		shmkit__compat_forget(shmid);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&stores_lock);
	s = find_locked(shmid, self);
	if (s == NULL)
		gone = detach_entries(-1, self);
	pthread_mutex_unlock(&stores_lock);
	close_entries(gone);
	if (s != NULL) {
		*out = s;
		return 0;
	}

	/* Open outside the lock; a thread that raced us may win. */
	mine = calloc(1, sizeof(*mine));
	if (mine == NULL)
		return -ENOMEM;
	rc = open_store(shmid, &mine->ks, &mine->capacity);
	if (rc < 0) {
		free(mine);
		return rc;
	}
	mine->shmid = shmid;
	mine->pid = self;
	pthread_mutex_lock(&stores_lock);
	s = find_locked(shmid, self);
	if (s == NULL) {
		mine->refs = 1;
		mine->next = stores;
		stores = mine;
		s = mine;
		mine = NULL;
	}
	pthread_mutex_unlock(&stores_lock);
	if (mine != NULL) {
		shmkit_keys_close(mine->ks);
		free(mine);
	}
	*out = s;
	return 0;
}

static void
release(struct store *s)
{
	struct store **pp;
	int close_it = 0;

	pthread_mutex_lock(&stores_lock);
	if (--s->refs == 0 && s->dead) {
		for (pp = &stores; *pp != NULL; pp = &(*pp)->next)
			if (*pp == s) {
				*pp = s->next;
				break;
			}
		close_it = 1;
	}
	pthread_mutex_unlock(&stores_lock);
	if (close_it) {
		shmkit_keys_close(s->ks);
		free(s);
	}
}

/*
 * A process that is creating the store at shmid may not have written it
 * yet (SHMKIT_ENOTOBJ: still zeroes) or be writing it (-EBUSY): wait for
 * it while its creator lives and the segment is attached (formatting) or
 * was made within the wait. Anything else that is not a key store fails
 * at once.
 */
static int
acquire_new(int shmid, struct store **out)
{
	struct timespec step = {0, INIT_WAIT_STEP_NS};
	struct shmid_ds ds;
	int rc, i;

	for (i = 0;; i++) {
		rc = acquire(shmid, out);
		if ((rc != SHMKIT_ENOTOBJ && rc != -EBUSY) ||
		    i == INIT_WAIT_STEPS)
			return rc;
		if (check_alive(shmid, &ds) < 0 ||
		    (kill(ds.shm_cpid, 0) < 0 && errno == ESRCH) ||
		    (ds.shm_nattch == 0 &&
		     time(NULL) - ds.shm_ctime > INIT_WAIT_SECONDS))
			return rc;
		nanosleep(&step, NULL);
	}
}

/* Makes the store at addr; 0 with its shmid, -EEXIST if another process
 * made the segment first. */
static int
create_store(const char *addr, size_t capacity, int *shmid)
{
	shmkit_seg_opts_t o = {.mode = 0600};
	shmkit_seg_stat_t st;
	shmkit_seg_t *seg;
	int rc;

	o.size = shmkit_keys_size(capacity);
	if (o.size == 0)
		return -EINVAL;
	rc = shmkit_seg_create(&seg, addr, &o);
	if (rc < 0)
		return rc;
	rc = shmkit__keys_format_seg(seg, capacity, STORE_FLAGS);
	if (rc == 0)
		rc = shmkit_seg_stat(seg, &st);
	if (rc < 0) {
		shmkit_seg_unlink(seg);
		shmkit_seg_close(seg);
		return rc;
	}
	*shmid = st.shmid;
	shmkit_seg_close(seg);
	return 0;
}

/* The shmid of the segment at addr, -ENOENT if none. */
static int
find_segment(const char *addr, int *shmid)
{
	shmkit_seg_stat_t st;
	shmkit_seg_t *seg;
	int rc;

	rc = shmkit_seg_open(&seg, addr, NULL);
	if (rc < 0)
		return rc;
	rc = shmkit_seg_stat(seg, &st);
	shmkit_seg_close(seg);
	if (rc == 0)
		*shmid = st.shmid;
	return rc;
}

int
KeyMng_ShmInit(int key, int maxnodenum, int *shmhdl)
{
	char addr[SHMKIT__COMPAT_ADDRLEN];
	struct store *s;
	int rc = -EEXIST, id = -1, tries;

	if (shmhdl == NULL || key == 0 || maxnodenum <= 0 ||
	    (unsigned long)maxnodenum > SHMKIT_KEYS_CAPACITY_MAX)
		return MYIPC_ParamErr;
	snprintf(addr, sizeof(addr), "sysv:0x%08x", (unsigned)key);
	/* Open, else create; a racing creator makes our create -EEXIST and
	 * we open theirs. Bounded: a segment that keeps vanishing fails. */
	for (tries = 0; tries < 100 && rc == -EEXIST; tries++) {
		rc = find_segment(addr, &id);
		if (rc == -ENOENT)
			rc = create_store(addr, (size_t)maxnodenum, &id);
	}
	if (rc < 0)
		return shmkit__myipc_code(rc);
	rc = acquire_new(id, &s);
	if (rc < 0)
		return rc == -EINVAL ? MYIPC_CreateErr : shmkit__myipc_code(rc);
	rc = s->capacity < (size_t)maxnodenum ? MYIPC_ParamErr : MYIPC_OK;
	release(s);
	if (rc == MYIPC_OK)
		*shmhdl = id;
	return rc;
}

/* A NodeSHMInfo id: 1..NODE_ID_MAX bytes before a NUL in its 12. */
static int
node_id(char out[NODE_ID_MAX + 1], const char *field)
{
	size_t n = strnlen(field, NODE_ID_MAX + 1);

	if (n == 0 || n > NODE_ID_MAX)
		return -EINVAL;
	memcpy(out, field, n);
	out[n] = '\0';
	return 0;
}

int
KeyMng_ShmWrite(int shmhdl, int maxnodenum, NodeSHMInfo *pNodeInfo)
{
	char client[NODE_ID_MAX + 1], server[NODE_ID_MAX + 1];
	struct store *s;
	int rc;

	if (shmhdl < 0 || maxnodenum <= 0 || pNodeInfo == NULL ||
	    node_id(client, pNodeInfo->clientId) < 0 ||
	    node_id(server, pNodeInfo->serverId) < 0 ||
	    (pNodeInfo->status != SHMKIT_KEYS_VALID &&
	     pNodeInfo->status != SHMKIT_KEYS_REVOKED))
		return MYIPC_ParamErr;
	rc = acquire(shmhdl, &s);
	if (rc < 0)
		return shmkit__myipc_code(rc);
	rc = shmkit__keys_write(s->ks, client, server,
				(shmkit_keys_status_t)pNodeInfo->status,
				(uint32_t)pNodeInfo->seckeyid,
				pNodeInfo->seckey, sizeof(pNodeInfo->seckey));
	release(s);
	if (rc == -ENOSPC)
		return KEYMNG_SHM_FULL;
	return shmkit__myipc_code(rc);
}

int
KeyMng_ShmRead(int shmhdl, char *clientId, char *serverId, int maxnodenum,
	       NodeSHMInfo *pNodeInfo)
{
	char client[NODE_ID_MAX + 1], server[NODE_ID_MAX + 1];
	shmkit_keys_record_t rec;
	struct store *s;
	int rc;

	if (shmhdl < 0 || maxnodenum <= 0 || pNodeInfo == NULL ||
	    clientId == NULL || serverId == NULL ||
	    node_id(client, clientId) < 0 || node_id(server, serverId) < 0)
		return MYIPC_ParamErr;
	rc = acquire(shmhdl, &s);
	if (rc < 0)
		return shmkit__myipc_code(rc);
	rc = shmkit_keys_get(s->ks, client, server, &rec);
	release(s);
	if (rc == -ENOENT)
		return KEYMNG_SHM_NOTFOUND;
	if (rc < 0)
		return shmkit__myipc_code(rc);
	memset(pNodeInfo, 0, sizeof(*pNodeInfo));
	pNodeInfo->status = (int)rec.status;
	memcpy(pNodeInfo->clientId, client, strlen(client));
	memcpy(pNodeInfo->serverId, server, strlen(server));
	pNodeInfo->seckeyid = (int)rec.key_id;
	memcpy(pNodeInfo->seckey, rec.key, sizeof(pNodeInfo->seckey));
	shmkit_keys_record_zero(&rec);
	return MYIPC_OK;
}
