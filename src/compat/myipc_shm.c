/*
 * The classic IPC_*Shm wrappers (<shmkit/compat/myipc_shm.h>) over the
 * segment layer's System V back end, so they get its checks: segments
 * made 0600 whatever the umask, sizes checked against what exists, and
 * errors told apart (MYIPC_* codes) instead of a bare -1.
 *
 * IPC_MapShm() hands out raw addresses but each mapping is a segment
 * handle underneath; a process-wide list, under a mutex, finds the handle
 * again when IPC_UnMapShm() gets the address back.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#include <shmkit/addr.h>
#include <shmkit/seg.h>

#include "common/internal.h"
#include "compat/compat_impl.h"

/* One mapping made by IPC_MapShm(). */
struct mapping {
	struct mapping *next;
	void *addr;
	shmkit_seg_t *seg;
};

static struct mapping *mappings;
static pthread_mutex_t mappings_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* fork() while another thread holds the lock would leave it held forever
 * in the child: take it across the fork. The child keeps the list, as it
 * keeps the System V attachments the list describes. */
static void
lock_prepare(void)
{
	pthread_mutex_lock(&mappings_lock);
}

static void
lock_release(void)
{
	pthread_mutex_unlock(&mappings_lock);
}

static void
register_atfork(void)
{
	pthread_atfork(lock_prepare, lock_release, lock_release);
}

int
shmkit__myipc_code(int rc)
{
	if (rc >= 0)
		return MYIPC_OK;
	switch (rc) {
	case -EINVAL:
	case -ENAMETOOLONG:
	case SHMKIT_ESIZE:
		return MYIPC_ParamErr;
	case -ENOENT:
	case -EIDRM:
		return MYIPC_NotEXISTErr;
	default:
		return MYIPC_CreateErr;
	}
}

void
shmkit__compat_id_addr(char *buf, int shmid)
{
	snprintf(buf, SHMKIT__COMPAT_ADDRLEN, "sysv-id:%d", shmid);
}

/* The shmid behind a System V handle. */
static int
seg_shmid(shmkit_seg_t *seg, int *shmid)
{
	shmkit_seg_stat_t st;
	int rc = shmkit_seg_stat(seg, &st);

	if (rc == 0)
		*shmid = st.shmid;
	return rc;
}

/* After an open or create that returned rc: seg's shmid into *shmhdl,
 * closing seg, or the classic code of the failure. */
static int
hand_out_shmid(int rc, shmkit_seg_t *seg, int *shmhdl)
{
	int id = -1;

	if (rc < 0)
		return shmkit__myipc_code(rc);
	rc = seg_shmid(seg, &id);
	shmkit_seg_close(seg);
	if (rc < 0)
		return shmkit__myipc_code(rc);
	*shmhdl = id;
	return MYIPC_OK;
}

/* Open or create at address; the shmid into *shmhdl. */
static int
open_or_create(const char *address, int shmsize, int *shmhdl)
{
	shmkit_seg_opts_t o = {.size = (size_t)shmsize, .mode = 0600};
	shmkit_seg_t *seg = NULL;
	int rc;

	rc = shmkit_seg_open_or_create(&seg, address, &o);
	return hand_out_shmid(rc, seg, shmhdl);
}

int
IPC_CreatShm(int key, int shmsize, int *shmhdl)
{
	char addr[SHMKIT__COMPAT_ADDRLEN];

	/* Key 0 is IPC_PRIVATE: a new segment at each call, which no other
	 * process can find by key. Not what a caller of this API means. */
	if (shmhdl == NULL || shmsize <= 0 || key == 0)
		return MYIPC_ParamErr;
	snprintf(addr, sizeof(addr), "sysv:0x%08x", (unsigned)key);
	return open_or_create(addr, shmsize, shmhdl);
}

int
IPC_OpenShm(int key, int shmsize, int *shmhdl)
{
	shmkit_seg_opts_t o = {.size = shmsize > 0 ? (size_t)shmsize : 0};
	char addr[SHMKIT__COMPAT_ADDRLEN];
	shmkit_seg_t *seg = NULL;
	int rc;

	if (shmhdl == NULL || shmsize < 0 || key == 0)
		return MYIPC_ParamErr;
	snprintf(addr, sizeof(addr), "sysv:0x%08x", (unsigned)key);
	rc = shmkit_seg_open(&seg, addr, &o);
	return hand_out_shmid(rc, seg, shmhdl);
}

int
IPC_CreatShmBySeedName(char *shmname, int shmsize, int *shmhdl)
{
	char addr[SHMKIT_ADDR_STRLEN];
	shmkit_addr_t a;
	int n;

	if (shmname == NULL || shmname[0] == '\0' || shmhdl == NULL ||
	    shmsize <= 0)
		return MYIPC_ParamErr;
	/* 'c' is the classic project id; the parser checks the path. */
	n = snprintf(addr, sizeof(addr), "ftok:%s:99", shmname);
	if (n < 0 || (size_t)n >= sizeof(addr) ||
	    shmkit_addr_parse(&a, addr) < 0)
		return MYIPC_ParamErr;
	return open_or_create(addr, shmsize, shmhdl);
}

int
IPC_MapShm(int shmhdl, void **mapaddr)
{
	char addr[SHMKIT__COMPAT_ADDRLEN];
	struct mapping *m;
	shmkit_seg_t *seg;
	void *p;
	int rc;

	if (shmhdl < 0 || mapaddr == NULL)
		return MYIPC_ParamErr;
	pthread_once(&atfork_once, register_atfork);
	m = malloc(sizeof(*m));
	if (m == NULL)
		return MYIPC_CreateErr;
	shmkit__compat_id_addr(addr, shmhdl);
	rc = shmkit_seg_open(&seg, addr, NULL);
	if (rc < 0) {
		free(m);
		return shmkit__myipc_code(rc);
	}
	rc = shmkit_seg_attach(seg, &p, 0, NULL);
	if (rc < 0) {
		shmkit_seg_close(seg);
		free(m);
		return shmkit__myipc_code(rc);
	}
	m->addr = p;
	m->seg = seg;
	pthread_mutex_lock(&mappings_lock);
	m->next = mappings;
	mappings = m;
	pthread_mutex_unlock(&mappings_lock);
	*mapaddr = p;
	return MYIPC_OK;
}

int
IPC_UnMapShm(void *unmapaddr)
{
	struct mapping **pp, *m = NULL;
	int rc;

	if (unmapaddr == NULL)
		return MYIPC_ParamErr;
	pthread_mutex_lock(&mappings_lock);
	for (pp = &mappings; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->addr == unmapaddr) {
			m = *pp;
			*pp = m->next;
			break;
		}
	}
	pthread_mutex_unlock(&mappings_lock);
	if (m != NULL) {
		rc = shmkit_seg_close(m->seg);
		free(m);
		return shmkit__myipc_code(rc);
	}
	/* Not ours: a program that attached with shmat(2) itself, as the
	 * classic code allowed. */
	if (shmdt(unmapaddr) < 0)
		return MYIPC_ParamErr;
	return MYIPC_OK;
}

int
IPC_DelShm(int shmhdl)
{
	char addr[SHMKIT__COMPAT_ADDRLEN];
	int rc;

	if (shmhdl < 0)
		return MYIPC_ParamErr;
	shmkit__compat_id_addr(addr, shmhdl);
	rc = shmkit_seg_unlink_address(addr);
	/* Our own key store handle would keep it attached, alive in
	 * `ipcs -m` as "dest" until we exit. */
	if (rc == 0 || rc == -ENOENT)
		shmkit__compat_forget(shmhdl);
	return shmkit__myipc_code(rc);
}
