/*
 * The classic wrapper API: the IPC_*Shm calls over System V with their
 * MYIPC_* codes, and the KeyMng_Shm* key store used as the classic
 * programs use it, a writer process and a reader process sharing a
 * store through its key, then IPC_DelShm() removing it for good. Keys
 * come from shmkit_test_name("sysv"), so the runner sweeps leftovers.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <shmkit/compat/keymng_shmop.h>
#include <shmkit/compat/myipc_shm.h>

#include "shmkit_test.h"

/* A fresh System V key of this case, from its "sysv:0x..." name. */
static int
test_key(void)
{
	const char *name = shmkit_test_name("sysv");
	unsigned long k;

	SHMKIT_ASSERT(strncmp(name, "sysv:0x", 7) == 0);
	k = strtoul(name + 5, NULL, 16);
	SHMKIT_ASSERT(k != 0);
	return (int)(unsigned)k;
}

static void
key_arg(char *buf, size_t len, int key)
{
	snprintf(buf, len, "%d", key);
}

/* 1 if shmid still names a segment not marked for removal. */
static int
segment_alive(int shmid)
{
	struct shmid_ds ds;

	if (shmctl(shmid, IPC_STAT, &ds) < 0)
		return 0;
	return !(ds.shm_perm.mode & SHM_DEST);
}

/* 1 if shmid names any segment at all (even one being removed). */
static int
segment_exists(int shmid)
{
	struct shmid_ds ds;

	return shmctl(shmid, IPC_STAT, &ds) == 0;
}

static void
node(NodeSHMInfo *n, const char *client, const char *server, int keyid,
     int seed)
{
	int i;

	memset(n, 0, sizeof(*n));
	strcpy(n->clientId, client);
	strcpy(n->serverId, server);
	n->seckeyid = keyid;
	for (i = 0; i < 128; i++)
		n->seckey[i] = (unsigned char)(seed * 31 + i * 7 + 1);
}

static void
ipc_create_open_map_del(void)
{
	int key = test_key(), h = -1, h2 = -1, h3 = -1;
	struct shmid_ds ds;
	char *p, *q;

	umask(0);
	SHMKIT_ASSERT_EQ(IPC_OpenShm(key, 0, &h), MYIPC_NotEXISTErr);
	SHMKIT_ASSERT_EQ(h, -1);
	SHMKIT_ASSERT_EQ(IPC_CreatShm(key, 4096, &h), MYIPC_OK);
	SHMKIT_ASSERT(h >= 0);
	SHMKIT_ASSERT_EQ(shmctl(h, IPC_STAT, &ds), 0);
	SHMKIT_ASSERT_EQ(ds.shm_perm.mode & 0777, 0600);
	SHMKIT_ASSERT_EQ(ds.shm_segsz, 4096);
	SHMKIT_ASSERT_EQ((int)ds.shm_perm.__key, key);
	/* Create again: the same segment, as the classic open-or-create. */
	SHMKIT_ASSERT_EQ(IPC_CreatShm(key, 4096, &h2), MYIPC_OK);
	SHMKIT_ASSERT_EQ(h2, h);
	SHMKIT_ASSERT_EQ(IPC_CreatShm(key, 1024, &h2), MYIPC_OK);
	SHMKIT_ASSERT_EQ(IPC_CreatShm(key, 8192, &h2), MYIPC_ParamErr);
	SHMKIT_ASSERT_EQ(IPC_OpenShm(key, 0, &h3), MYIPC_OK);
	SHMKIT_ASSERT_EQ(h3, h);
	SHMKIT_ASSERT_EQ(IPC_OpenShm(key, 4096, &h3), MYIPC_OK);
	SHMKIT_ASSERT_EQ(IPC_OpenShm(key, 4097, &h3), MYIPC_ParamErr);

	/* Two mappings of one segment see each other's writes. */
	SHMKIT_ASSERT_EQ(IPC_MapShm(h, (void **)&p), MYIPC_OK);
	SHMKIT_ASSERT_EQ(IPC_MapShm(h, (void **)&q), MYIPC_OK);
	SHMKIT_ASSERT(p != q);
	strcpy(p, "hello, classic");
	SHMKIT_ASSERT_STREQ(q, "hello, classic");
	SHMKIT_ASSERT_EQ(shmctl(h, IPC_STAT, &ds), 0);
	SHMKIT_ASSERT_EQ(ds.shm_nattch, 2);
	SHMKIT_ASSERT_EQ(IPC_UnMapShm(p), MYIPC_OK);
	SHMKIT_ASSERT_EQ(IPC_UnMapShm(q), MYIPC_OK);
	SHMKIT_ASSERT_EQ(IPC_UnMapShm(q), MYIPC_ParamErr);
	SHMKIT_ASSERT_EQ(shmctl(h, IPC_STAT, &ds), 0);
	SHMKIT_ASSERT_EQ(ds.shm_nattch, 0);

	/* A mapping made with shmat(2) directly unmaps too. */
	p = shmat(h, NULL, 0);
	SHMKIT_ASSERT(p != (void *)-1);
	SHMKIT_ASSERT_EQ(IPC_UnMapShm(p), MYIPC_OK);

	SHMKIT_ASSERT_EQ(IPC_DelShm(h), MYIPC_OK);
	SHMKIT_ASSERT(!segment_exists(h));
	SHMKIT_ASSERT_EQ(IPC_OpenShm(key, 0, &h3), MYIPC_NotEXISTErr);
	SHMKIT_ASSERT_EQ(IPC_DelShm(h), MYIPC_NotEXISTErr);
	SHMKIT_ASSERT_EQ(IPC_MapShm(h, (void **)&p), MYIPC_NotEXISTErr);
}

static void
ipc_bad_params(void)
{
	int key = test_key(), h = -7;
	char path[4200], *nul = NULL;
	void *p = NULL;
	int x;

	SHMKIT_ASSERT_EQ(IPC_CreatShm(key, 4096, NULL), MYIPC_ParamErr);
	SHMKIT_ASSERT_EQ(IPC_CreatShm(key, 0, &h), MYIPC_ParamErr);
	SHMKIT_ASSERT_EQ(IPC_CreatShm(key, -5, &h), MYIPC_ParamErr);
	SHMKIT_ASSERT_EQ(IPC_CreatShm(0, 4096, &h), MYIPC_ParamErr);
	SHMKIT_ASSERT_EQ(IPC_OpenShm(key, 0, NULL), MYIPC_ParamErr);
	SHMKIT_ASSERT_EQ(IPC_OpenShm(key, -1, &h), MYIPC_ParamErr);
	SHMKIT_ASSERT_EQ(IPC_OpenShm(0, 0, &h), MYIPC_ParamErr);
	SHMKIT_ASSERT_EQ(IPC_OpenShm(key, 0, &h), MYIPC_NotEXISTErr);
	SHMKIT_ASSERT_EQ(IPC_MapShm(-1, &p), MYIPC_ParamErr);
	SHMKIT_ASSERT_EQ(IPC_MapShm(0, NULL), MYIPC_ParamErr);
	SHMKIT_ASSERT_EQ(IPC_UnMapShm(NULL), MYIPC_ParamErr);
	SHMKIT_ASSERT_EQ(IPC_UnMapShm(&x), MYIPC_ParamErr);
	SHMKIT_ASSERT_EQ(IPC_DelShm(-1), MYIPC_ParamErr);
	SHMKIT_ASSERT_EQ(IPC_CreatShmBySeedName(nul, 4096, &h), MYIPC_ParamErr);
	SHMKIT_ASSERT_EQ(IPC_CreatShmBySeedName((char *)"", 4096, &h),
			 MYIPC_ParamErr);
	snprintf(path, sizeof(path), "%s/no-such-seed", shmkit_test_tmpdir());
	SHMKIT_ASSERT_EQ(IPC_CreatShmBySeedName(path, 4096, &h),
			 MYIPC_NotEXISTErr);
	SHMKIT_ASSERT_EQ(IPC_CreatShmBySeedName(path, 0, &h), MYIPC_ParamErr);
	SHMKIT_ASSERT(p == NULL);
	SHMKIT_ASSERT_EQ(h, -7);
}

static void
ipc_seed_name(void)
{
	char a[4200], b[4200];
	int ha, hb, ha2;
	struct shmid_ds ds;
	FILE *f;

	snprintf(a, sizeof(a), "%s/seed-a", shmkit_test_tmpdir());
	snprintf(b, sizeof(b), "%s/seed-b", shmkit_test_tmpdir());
	SHMKIT_ASSERT((f = fopen(a, "w")) != NULL);
	fclose(f);
	SHMKIT_ASSERT((f = fopen(b, "w")) != NULL);
	fclose(f);
	/* ftok keys lie outside the runner's sweep: delete even on failure
	 * of the checks below by checking only after both exist. */
	SHMKIT_ASSERT_EQ(IPC_CreatShmBySeedName(a, 1000, &ha), MYIPC_OK);
	if (IPC_CreatShmBySeedName(b, 2000, &hb) != MYIPC_OK) {
		IPC_DelShm(ha);
		SHMKIT_FAIL("second seed file");
	}
	SHMKIT_ASSERT_EQ(IPC_CreatShmBySeedName(a, 1000, &ha2), MYIPC_OK);
	SHMKIT_ASSERT_EQ(shmctl(ha, IPC_STAT, &ds), 0);
	if (ha2 != ha || ha == hb ||
	    (int)ds.shm_perm.__key != (int)ftok(a, 'c') ||
	    (ds.shm_perm.mode & 0777) != 0600) {
		IPC_DelShm(ha);
		IPC_DelShm(hb);
		SHMKIT_FAIL("seed segments: %d %d %d key %x mode %o", ha, ha2,
			    hb, (unsigned)ds.shm_perm.__key,
			    (unsigned)ds.shm_perm.mode);
	}
	SHMKIT_ASSERT_EQ(IPC_DelShm(ha), MYIPC_OK);
	SHMKIT_ASSERT_EQ(IPC_DelShm(hb), MYIPC_OK);
}

/* The writer of the classic flow: init the store, write three keys,
 * overwrite one. */
static int
helper_writer(int argc, char **argv)
{
	NodeSHMInfo n;
	int key, h;

	if (argc != 2)
		return 2;
	key = atoi(argv[1]);
	SHMKIT_ASSERT_EQ(KeyMng_ShmInit(key, 10, &h), MYIPC_OK);
	node(&n, "client1", "server", 1, 1);
	SHMKIT_ASSERT_EQ(KeyMng_ShmWrite(h, 10, &n), MYIPC_OK);
	node(&n, "client2", "server", 2, 2);
	SHMKIT_ASSERT_EQ(KeyMng_ShmWrite(h, 10, &n), MYIPC_OK);
	node(&n, "client3", "server", 3, 3);
	n.status = 1;
	SHMKIT_ASSERT_EQ(KeyMng_ShmWrite(h, 10, &n), MYIPC_OK);
	node(&n, "client1", "server", 11, 11);
	SHMKIT_ASSERT_EQ(KeyMng_ShmWrite(h, 10, &n), MYIPC_OK);
	return 0;
}

/* The reader: init opens the writer's store; read all three. */
static int
helper_reader(int argc, char **argv)
{
	NodeSHMInfo n, want;
	int key, h;

	if (argc != 2)
		return 2;
	key = atoi(argv[1]);
	SHMKIT_ASSERT_EQ(KeyMng_ShmInit(key, 10, &h), MYIPC_OK);
	SHMKIT_ASSERT_EQ(KeyMng_ShmRead(h, (char *)"client1", (char *)"server",
					10, &n),
			 MYIPC_OK);
	node(&want, "client1", "server", 11, 11);
	SHMKIT_ASSERT_MEMEQ(&n, &want, sizeof(n));
	SHMKIT_ASSERT_EQ(KeyMng_ShmRead(h, (char *)"client2", (char *)"server",
					10, &n),
			 MYIPC_OK);
	node(&want, "client2", "server", 2, 2);
	SHMKIT_ASSERT_MEMEQ(&n, &want, sizeof(n));
	SHMKIT_ASSERT_EQ(KeyMng_ShmRead(h, (char *)"client3", (char *)"server",
					10, &n),
			 MYIPC_OK);
	SHMKIT_ASSERT_EQ(n.status, 1);
	SHMKIT_ASSERT_EQ(n.seckeyid, 3);
	SHMKIT_ASSERT_EQ(KeyMng_ShmRead(h, (char *)"client4", (char *)"server",
					10, &n),
			 KEYMNG_SHM_NOTFOUND);
	return 0;
}

static void
keymng_two_processes(void)
{
	int key = test_key(), h = -1;
	char karg[32];
	struct shmid_ds ds;

	key_arg(karg, sizeof(karg), key);
	SHMKIT_ASSERT_CHILD_OK(shmkit_test_spawn("writer", karg, NULL));
	SHMKIT_ASSERT_CHILD_OK(shmkit_test_spawn("reader", karg, NULL));
	/* The writer's exit left the store in place, 0600, as ipcs sees it. */
	SHMKIT_ASSERT_EQ(IPC_OpenShm(key, 0, &h), MYIPC_OK);
	SHMKIT_ASSERT_EQ(shmctl(h, IPC_STAT, &ds), 0);
	SHMKIT_ASSERT_EQ(ds.shm_perm.mode & 0777, 0600);
	SHMKIT_ASSERT_EQ(ds.shm_nattch, 0);
	/* A third process removes it; it is gone, not just marked. */
	SHMKIT_ASSERT_EQ(IPC_DelShm(h), MYIPC_OK);
	SHMKIT_ASSERT(!segment_exists(h));
	SHMKIT_ASSERT_EQ(IPC_OpenShm(key, 0, &h), MYIPC_NotEXISTErr);
}

static void
keymng_full_and_overwrite(void)
{
	int key = test_key(), h, i;
	NodeSHMInfo n, got;
	char id[12];
	unsigned char *p;
	size_t size;
	struct shmid_ds ds;

	SHMKIT_ASSERT_EQ(KeyMng_ShmInit(key, 3, &h), MYIPC_OK);
	for (i = 0; i < 3; i++) {
		snprintf(id, sizeof(id), "c%d", i % 10);
		node(&n, id, "s", i, 40 + i);
		SHMKIT_ASSERT_EQ(KeyMng_ShmWrite(h, 3, &n), MYIPC_OK);
	}
	node(&n, "c3", "s", 3, 43);
	SHMKIT_ASSERT_EQ(KeyMng_ShmWrite(h, 3, &n), KEYMNG_SHM_FULL);
	SHMKIT_ASSERT_EQ(KEYMNG_SHM_FULL, 102);
	/* Overwriting needs no room. */
	node(&n, "c1", "s", 99, 99);
	SHMKIT_ASSERT_EQ(KeyMng_ShmWrite(h, 3, &n), MYIPC_OK);
	memset(&got, 0x77, sizeof(got));
	SHMKIT_ASSERT_EQ(KeyMng_ShmRead(h, (char *)"c1", (char *)"s", 3, &got),
			 MYIPC_OK);
	SHMKIT_ASSERT_MEMEQ(&got, &n, sizeof(n));
	/* Not found leaves the output alone. */
	memset(&got, 0x77, sizeof(got));
	SHMKIT_ASSERT_EQ(KeyMng_ShmRead(h, (char *)"c3", (char *)"s", 3, &got),
			 KEYMNG_SHM_NOTFOUND);
	SHMKIT_ASSERT_EQ(got.seckeyid, 0x77777777);

	/* The overwritten key is zeroised in the segment. */
	node(&n, "c1", "s", 1, 41);
	SHMKIT_ASSERT_EQ(IPC_MapShm(h, (void **)&p), MYIPC_OK);
	SHMKIT_ASSERT_EQ(shmctl(h, IPC_STAT, &ds), 0);
	size = ds.shm_segsz;
	SHMKIT_ASSERT(memmem(p, size, n.seckey, sizeof(n.seckey)) == NULL);
	node(&n, "c1", "s", 99, 99);
	SHMKIT_ASSERT(memmem(p, size, n.seckey, sizeof(n.seckey)) != NULL);
	SHMKIT_ASSERT_EQ(IPC_UnMapShm(p), MYIPC_OK);

	/* A store made for 3 is not one for 4; for 2 it is. */
	SHMKIT_ASSERT_EQ(KeyMng_ShmInit(key, 4, &i), MYIPC_ParamErr);
	SHMKIT_ASSERT_EQ(KeyMng_ShmInit(key, 2, &i), MYIPC_OK);
	SHMKIT_ASSERT_EQ(i, h);
	SHMKIT_ASSERT_EQ(IPC_DelShm(h), MYIPC_OK);
	SHMKIT_ASSERT(!segment_exists(h));
}

static void
keymng_bad_params(void)
{
	int key = test_key(), plain_key = test_key(), h, plain, i;
	NodeSHMInfo n, got;
	char karg[32];

	SHMKIT_ASSERT_EQ(KeyMng_ShmInit(0, 4, &h), MYIPC_ParamErr);
	SHMKIT_ASSERT_EQ(KeyMng_ShmInit(key, 0, &h), MYIPC_ParamErr);
	SHMKIT_ASSERT_EQ(KeyMng_ShmInit(key, -3, &h), MYIPC_ParamErr);
	SHMKIT_ASSERT_EQ(KeyMng_ShmInit(key, 4, NULL), MYIPC_ParamErr);
	SHMKIT_ASSERT_EQ(KeyMng_ShmInit(key, 4, &h), MYIPC_OK);

	node(&n, "c", "s", 1, 1);
	SHMKIT_ASSERT_EQ(KeyMng_ShmWrite(h, 4, NULL), MYIPC_ParamErr);
	SHMKIT_ASSERT_EQ(KeyMng_ShmWrite(h, 0, &n), MYIPC_ParamErr);
	SHMKIT_ASSERT_EQ(KeyMng_ShmWrite(-1, 4, &n), MYIPC_ParamErr);
	/* Ids: empty, or 12 bytes with no NUL. */
	n.clientId[0] = '\0';
	SHMKIT_ASSERT_EQ(KeyMng_ShmWrite(h, 4, &n), MYIPC_ParamErr);
	memset(n.clientId, 'x', sizeof(n.clientId));
	SHMKIT_ASSERT_EQ(KeyMng_ShmWrite(h, 4, &n), MYIPC_ParamErr);
	node(&n, "c", "s", 1, 1);
	memset(n.serverId, 'y', sizeof(n.serverId));
	SHMKIT_ASSERT_EQ(KeyMng_ShmWrite(h, 4, &n), MYIPC_ParamErr);
	node(&n, "c", "s", 1, 1);
	n.status = 2;
	SHMKIT_ASSERT_EQ(KeyMng_ShmWrite(h, 4, &n), MYIPC_ParamErr);
	n.status = -1;
	SHMKIT_ASSERT_EQ(KeyMng_ShmWrite(h, 4, &n), MYIPC_ParamErr);

	SHMKIT_ASSERT_EQ(KeyMng_ShmRead(h, NULL, (char *)"s", 4, &got),
			 MYIPC_ParamErr);
	SHMKIT_ASSERT_EQ(KeyMng_ShmRead(h, (char *)"c", NULL, 4, &got),
			 MYIPC_ParamErr);
	SHMKIT_ASSERT_EQ(KeyMng_ShmRead(h, (char *)"c", (char *)"s", 4, NULL),
			 MYIPC_ParamErr);
	SHMKIT_ASSERT_EQ(KeyMng_ShmRead(h, (char *)"", (char *)"s", 4, &got),
			 MYIPC_ParamErr);
	SHMKIT_ASSERT_EQ(KeyMng_ShmRead(h, (char *)"abcdefghijkl", (char *)"s",
					4, &got),
			 MYIPC_ParamErr);
	SHMKIT_ASSERT_EQ(KeyMng_ShmRead(h, (char *)"c", (char *)"s", 0, &got),
			 MYIPC_ParamErr);
	/* Nothing was written by the refused calls. */
	SHMKIT_ASSERT_EQ(KeyMng_ShmRead(h, (char *)"c", (char *)"s", 4, &got),
			 KEYMNG_SHM_NOTFOUND);

	/* Bytes after an id's NUL are ignored, as strcmp did. */
	node(&n, "ab", "s", 5, 5);
	memcpy(n.clientId + 3, "zzz", 3);
	SHMKIT_ASSERT_EQ(KeyMng_ShmWrite(h, 4, &n), MYIPC_OK);
	SHMKIT_ASSERT_EQ(KeyMng_ShmRead(h, (char *)"ab", (char *)"s", 4, &got),
			 MYIPC_OK);
	SHMKIT_ASSERT_EQ(got.seckeyid, 5);
	SHMKIT_ASSERT_EQ(got.clientId[3], 0);
	/* The longest id, 11 bytes. */
	node(&n, "abcdefghijk", "abcdefghijk", 6, 6);
	SHMKIT_ASSERT_EQ(KeyMng_ShmWrite(h, 4, &n), MYIPC_OK);
	SHMKIT_ASSERT_EQ(KeyMng_ShmRead(h, (char *)"abcdefghijk",
					(char *)"abcdefghijk", 4, &got),
			 MYIPC_OK);
	SHMKIT_ASSERT_MEMEQ(&got, &n, sizeof(n));

	/* A plain segment is not a key store: not for Init, Write, Read.
	 * Made by a process that has exited, so Init does not wait for
	 * its creator to make a store of it. */
	key_arg(karg, sizeof(karg), plain_key);
	SHMKIT_ASSERT_CHILD_OK(shmkit_test_spawn("plain", karg, NULL));
	SHMKIT_ASSERT_EQ(IPC_OpenShm(plain_key, 65536, &plain), MYIPC_OK);
	SHMKIT_ASSERT_EQ(KeyMng_ShmInit(plain_key, 4, &i), MYIPC_CreateErr);
	node(&n, "c", "s", 1, 1);
	SHMKIT_ASSERT_EQ(KeyMng_ShmWrite(plain, 4, &n), MYIPC_CreateErr);
	SHMKIT_ASSERT_EQ(KeyMng_ShmRead(plain, (char *)"c", (char *)"s", 4,
					&got),
			 MYIPC_CreateErr);
	SHMKIT_ASSERT_EQ(IPC_DelShm(plain), MYIPC_OK);

	/* Once deleted, the handle names nothing. */
	SHMKIT_ASSERT_EQ(IPC_DelShm(h), MYIPC_OK);
	SHMKIT_ASSERT_EQ(KeyMng_ShmWrite(h, 4, &n), MYIPC_NotEXISTErr);
	SHMKIT_ASSERT_EQ(KeyMng_ShmRead(h, (char *)"c", (char *)"s", 4, &got),
			 MYIPC_NotEXISTErr);
}

static int
helper_plain(int argc, char **argv)
{
	int h;

	if (argc != 2)
		return 2;
	return IPC_CreatShm(atoi(argv[1]), 65536, &h) == MYIPC_OK ? 0 : 1;
}

static int
helper_delete(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	return IPC_DelShm(atoi(argv[1])) == MYIPC_OK ? 0 : 1;
}

/* Another process deletes the store this one has open: our next call
 * says so, and drops our attachment, so the segment really goes. */
static void
keymng_deleted_by_another(void)
{
	int key = test_key(), h;
	char harg[32];
	NodeSHMInfo n;

	SHMKIT_ASSERT_EQ(KeyMng_ShmInit(key, 4, &h), MYIPC_OK);
	node(&n, "c", "s", 1, 1);
	SHMKIT_ASSERT_EQ(KeyMng_ShmWrite(h, 4, &n), MYIPC_OK);
	key_arg(harg, sizeof(harg), h);
	SHMKIT_ASSERT_CHILD_OK(shmkit_test_spawn("delete", harg, NULL));
	SHMKIT_ASSERT(!segment_alive(h));
	SHMKIT_ASSERT_EQ(KeyMng_ShmWrite(h, 4, &n), MYIPC_NotEXISTErr);
	SHMKIT_ASSERT(!segment_exists(h));
	/* Init makes a new, empty one at the key. */
	SHMKIT_ASSERT_EQ(KeyMng_ShmInit(key, 4, &h), MYIPC_OK);
	SHMKIT_ASSERT_EQ(KeyMng_ShmRead(h, (char *)"c", (char *)"s", 4, &n),
			 KEYMNG_SHM_NOTFOUND);
	SHMKIT_ASSERT_EQ(IPC_DelShm(h), MYIPC_OK);
	SHMKIT_ASSERT(!segment_exists(h));
}

static void
child_reads(void *arg)
{
	NodeSHMInfo n;
	int h = *(int *)arg;

	SHMKIT_ASSERT_EQ(KeyMng_ShmRead(h, (char *)"c", (char *)"s", 4, &n),
			 MYIPC_OK);
	SHMKIT_ASSERT_EQ(n.seckeyid, 8);
	node(&n, "child", "s", 9, 9);
	SHMKIT_ASSERT_EQ(KeyMng_ShmWrite(h, 4, &n), MYIPC_OK);
}

/* A forked child uses the handle it inherited as a number. */
static void
keymng_fork(void)
{
	int key = test_key(), h;
	NodeSHMInfo n;

	SHMKIT_ASSERT_EQ(KeyMng_ShmInit(key, 4, &h), MYIPC_OK);
	node(&n, "c", "s", 8, 8);
	SHMKIT_ASSERT_EQ(KeyMng_ShmWrite(h, 4, &n), MYIPC_OK);
	SHMKIT_ASSERT_CHILD_OK(shmkit_test_fork(child_reads, &h));
	SHMKIT_ASSERT_EQ(KeyMng_ShmRead(h, (char *)"child", (char *)"s", 4,
					&n),
			 MYIPC_OK);
	SHMKIT_ASSERT_EQ(n.seckeyid, 9);
	SHMKIT_ASSERT_EQ(IPC_DelShm(h), MYIPC_OK);
	SHMKIT_ASSERT(!segment_exists(h));
}

/* A process that opens the store afresh must refuse it, not crash. */
static void
child_refuses(void *arg)
{
	NodeSHMInfo n;
	int h = *(int *)arg;

	memset(&n, 0, sizeof(n));
	SHMKIT_ASSERT_EQ(KeyMng_ShmRead(h, (char *)"c", (char *)"s", 4, &n),
			 MYIPC_CreateErr);
	node(&n, "child", "s", 9, 9);
	SHMKIT_ASSERT_EQ(KeyMng_ShmWrite(h, 4, &n), MYIPC_CreateErr);
}

/*
 * A peer rewrites the store's key and value sizes (to others of the same
 * slot stride: bytes 72-79 of the segment) or clears its secure flag
 * (bytes 92-95): processes that open it refuse it, and this one, which
 * opened it before, keeps reading with the sizes it checked.
 */
static void
keymng_hostile_store(void)
{
	static const uint32_t sizes[2] = { 32, 168 }, zero = 0;
	int key = test_key(), h;
	unsigned char save[32];
	NodeSHMInfo n, got;
	unsigned char *p;

	SHMKIT_ASSERT_EQ(KeyMng_ShmInit(key, 4, &h), MYIPC_OK);
	node(&n, "c", "s", 8, 8);
	SHMKIT_ASSERT_EQ(KeyMng_ShmWrite(h, 4, &n), MYIPC_OK);
	p = shmat(h, NULL, 0);
	SHMKIT_ASSERT(p != (void *)-1);
	memcpy(save, p + 64, sizeof(save));
	memcpy(p + 72, sizes, sizeof(sizes));
	SHMKIT_ASSERT_CHILD_OK(shmkit_test_fork(child_refuses, &h));
	memcpy(p + 64, save, sizeof(save));
	memcpy(p + 92, &zero, sizeof(zero));
	SHMKIT_ASSERT_CHILD_OK(shmkit_test_fork(child_refuses, &h));
	SHMKIT_ASSERT_EQ(KeyMng_ShmRead(h, (char *)"c", (char *)"s", 4, &got),
			 MYIPC_OK);
	SHMKIT_ASSERT_MEMEQ(&got, &n, sizeof(n));
	memcpy(p + 64, save, sizeof(save));
	SHMKIT_ASSERT_EQ(shmdt(p), 0);
	SHMKIT_ASSERT_EQ(IPC_DelShm(h), MYIPC_OK);
	SHMKIT_ASSERT(!segment_exists(h));
}

#define NRACERS 4

struct racer {
	int key;
	int gate[2]; /* a pipe: EOF on gate[0] starts the race */
	int n;
};

static void
racer_main(void *arg)
{
	struct racer *r = arg;
	NodeSHMInfo n;
	char c, id[12];
	int h;

	/* alarm() is not inherited: a child stuck here must not outlive
	 * the case. */
	alarm(30);
	close(r->gate[1]);
	SHMKIT_ASSERT_EQ(read(r->gate[0], &c, 1), 0);
	SHMKIT_ASSERT_EQ(KeyMng_ShmInit(r->key, 8, &h), MYIPC_OK);
	snprintf(id, sizeof(id), "r%d", r->n % 10);
	node(&n, id, "s", r->n, r->n);
	SHMKIT_ASSERT_EQ(KeyMng_ShmWrite(h, 8, &n), MYIPC_OK);
}

/* Processes that init the same store at once all get it, and nobody's
 * record is lost to a second creation. */
static void
keymng_init_race(void)
{
	struct racer r[NRACERS];
	pid_t pid[NRACERS];
	int key = test_key(), gate[2], h, i;
	NodeSHMInfo n;
	char id[12];

	SHMKIT_ASSERT_OK(pipe(gate));
	for (i = 0; i < NRACERS; i++) {
		r[i].key = key;
		r[i].gate[0] = gate[0];
		r[i].gate[1] = gate[1];
		r[i].n = i;
		pid[i] = shmkit_test_fork(racer_main, &r[i]);
	}
	close(gate[1]);
	for (i = 0; i < NRACERS; i++)
		SHMKIT_ASSERT_CHILD_OK(pid[i]);
	close(gate[0]);
	SHMKIT_ASSERT_EQ(KeyMng_ShmInit(key, 8, &h), MYIPC_OK);
	for (i = 0; i < NRACERS; i++) {
		snprintf(id, sizeof(id), "r%d", i % 10);
		SHMKIT_ASSERT_EQ(KeyMng_ShmRead(h, id, (char *)"s", 8, &n),
				 MYIPC_OK);
		SHMKIT_ASSERT_EQ(n.seckeyid, i);
	}
	SHMKIT_ASSERT_EQ(IPC_DelShm(h), MYIPC_OK);
	SHMKIT_ASSERT(!segment_exists(h));
}

#define NTHREADS 4
#define NROUNDS 500

static int thread_shmid;

static void *
thread_main(void *arg)
{
	int me = (int)(intptr_t)arg, i, j, rc;
	char id[12];
	NodeSHMInfo n, got;

	for (i = 0; i < NROUNDS; i++) {
		snprintf(id, sizeof(id), "t%d", me % 10);
		node(&n, id, "s", i, i);
		if (KeyMng_ShmWrite(thread_shmid, 8, &n) != MYIPC_OK)
			return (void *)1;
		for (j = 0; j < NTHREADS; j++) {
			snprintf(id, sizeof(id), "t%d", j % 10);
			rc = KeyMng_ShmRead(thread_shmid, id, (char *)"s", 8,
					    &got);
			if (rc == KEYMNG_SHM_NOTFOUND)
				continue;
			if (rc != MYIPC_OK)
				return (void *)2;
			node(&n, id, "s", got.seckeyid, got.seckeyid);
			if (memcmp(&n, &got, sizeof(n)) != 0)
				return (void *)3;
		}
	}
	return NULL;
}

static void
keymng_threads(void)
{
	pthread_t th[NTHREADS];
	int key = test_key(), i;
	void *ret;

	SHMKIT_ASSERT_EQ(KeyMng_ShmInit(key, 8, &thread_shmid), MYIPC_OK);
	for (i = 0; i < NTHREADS; i++)
		SHMKIT_ASSERT_EQ(pthread_create(&th[i], NULL, thread_main,
						(void *)(intptr_t)i),
				 0);
	for (i = 0; i < NTHREADS; i++) {
		SHMKIT_ASSERT_EQ(pthread_join(th[i], &ret), 0);
		SHMKIT_ASSERT_EQ((long)(intptr_t)ret, 0);
	}
	SHMKIT_ASSERT_EQ(IPC_DelShm(thread_shmid), MYIPC_OK);
	SHMKIT_ASSERT(!segment_exists(thread_shmid));
}

SHMKIT_HELPERS = {
	{ "writer", helper_writer },
	{ "reader", helper_reader },
	{ "delete", helper_delete },
	{ "plain", helper_plain },
	{ NULL, NULL },
};

SHMKIT_TESTS = {
	{ "ipc_create_open_map_del", ipc_create_open_map_del },
	{ "ipc_bad_params", ipc_bad_params },
	{ "ipc_seed_name", ipc_seed_name },
	{ "keymng_two_processes", keymng_two_processes },
	{ "keymng_full_and_overwrite", keymng_full_and_overwrite },
	{ "keymng_bad_params", keymng_bad_params },
	{ "keymng_deleted_by_another", keymng_deleted_by_another },
	{ "keymng_fork", keymng_fork },
	{ "keymng_init_race", keymng_init_race },
	{ "keymng_threads", keymng_threads },
	{ "keymng_hostile_store", keymng_hostile_store },
	{ NULL, NULL },
};
