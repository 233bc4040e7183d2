/*
 * Segments and the rest of the system: shmkit must read what programs
 * using the raw system calls write and the other way round (tests/raw/
 * segio.c, built without shmkit), and System V segments must look right
 * to util-linux's ipcs and yield to ipcrm, including the "dest" state of
 * a segment removed while still attached.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include <shmkit/seg.h>

#include "seg_util.h"
#include "shmkit_test.h"

/* The raw helper, built next to this test (tests/raw_segio). */
static const char *
raw_segio(void)
{
	static char path[4096];
	const char *build = getenv("SHMKIT_BUILD_DIR");
	char self[4096];

	if (build != NULL && *build != '\0') {
		snprintf(path, sizeof(path), "%s/tests/raw_segio", build);
	} else {
		snprintf(self, sizeof(self), "%s", shmkit_test_self());
		snprintf(path, sizeof(path), "%s/raw_segio", dirname(self));
	}
	if (access(path, X_OK) < 0)
		SHMKIT_FAIL("raw helper %s: %s", path, strerror(errno));
	return path;
}

/* The name raw_segio takes for a shmkit address: the key, the POSIX name
 * or the path. */
static void
raw_name(char *buf, const char *addr)
{
	shmkit_addr_t a;

	SHMKIT_ASSERT_OK(shmkit_addr_parse(&a, addr));
	if (a.kind == SHMKIT_ADDR_SYSV_KEY)
		snprintf(buf, NAMELEN, "0x%08x", (unsigned)a.key);
	else
		snprintf(buf, NAMELEN, "%s", a.path);
}

static pid_t
run_raw(const char *op, const char *b, const char *name, size_t size,
	unsigned seed)
{
	char sz[32], sd[32];
	char *argv[] = { (char *)raw_segio(), (char *)op, (char *)b,
			 (char *)name, sz, sd, NULL };

	snprintf(sz, sizeof(sz), "%zu", size);
	snprintf(sd, sizeof(sd), "%u", seed);
	return shmkit_test_spawn_argv(argv);
}

#define RAW_SIZE 12345

static void
raw_writes_shmkit_reads(const char *b)
{
	char addr[NAMELEN], name[NAMELEN];
	shmkit_seg_opts_t o = { .size = RAW_SIZE };
	shmkit_seg_stat_t st;
	shmkit_seg_t *s = NULL;
	void *p;

	seg_name(addr, b);
	raw_name(name, addr);
	SHMKIT_ASSERT_CHILD_OK(run_raw("write", b, name, RAW_SIZE, 41));
	SHMKIT_ASSERT_OK(shmkit_seg_open(&s, addr, &o));
	SHMKIT_ASSERT_EQ(shmkit_seg_size(s), RAW_SIZE);
	p = seg_map(s, SHMKIT_ATTACH_RDONLY);
	SHMKIT_ASSERT_EQ(pattern_check(p, RAW_SIZE, 41), -1);
	SHMKIT_ASSERT_OK(shmkit_seg_stat(s, &st));
	SHMKIT_ASSERT_STREQ(st.address, addr);
	SHMKIT_ASSERT_EQ(st.mode, 0600);
	SHMKIT_ASSERT_OK(shmkit_seg_unlink(s));
	SHMKIT_ASSERT_OK(shmkit_seg_close(s));
	/* shmkit's unlink removed the raw program's object. */
	SHMKIT_ASSERT_CHILD_EXIT(run_raw("check", b, name, RAW_SIZE, 41), 3);
}

static void
shmkit_writes_raw_reads(const char *b)
{
	char addr[NAMELEN], name[NAMELEN];
	shmkit_seg_t *s;
	void *p;

	seg_name(addr, b);
	raw_name(name, addr);
	s = seg_make(addr, RAW_SIZE);
	p = seg_map(s, 0);
	pattern_fill(p, RAW_SIZE, 43);
	SHMKIT_ASSERT_OK(shmkit_seg_sync(s, 0, 0, 0));
	SHMKIT_ASSERT_CHILD_OK(run_raw("check", b, name, RAW_SIZE, 43));
	/* The checker does check: another seed's pattern is refused. */
	SHMKIT_ASSERT_CHILD_EXIT(run_raw("check", b, name, RAW_SIZE, 44), 1);
	/* And the raw program cannot create over shmkit's segment. */
	SHMKIT_ASSERT_CHILD_EXIT(run_raw("write", b, name, RAW_SIZE, 45), 3);
	SHMKIT_ASSERT_EQ(pattern_check(p, RAW_SIZE, 43), -1);
	SHMKIT_ASSERT_OK(shmkit_seg_unlink(s));
	SHMKIT_ASSERT_OK(shmkit_seg_close(s));
}

/* One `ipcs -m` row. */
struct ipcs_row {
	unsigned key;
	int id;
	char owner[64];
	char perms[16];
	unsigned long bytes;
	long nattch;
	char status[64];
};

/* Runs the real `ipcs -m` and finds the row of shmid id. Returns 1 if
 * found. */
static int
ipcs_find(int id, struct ipcs_row *out)
{
	char line[512];
	int found = 0;
	FILE *f;

	fflush(NULL);
	f = popen("ipcs -m", "r");
	if (f == NULL)
		SHMKIT_FAIL("popen ipcs: %s", strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL) {
		struct ipcs_row r;
		int n;

		memset(&r, 0, sizeof(r));
		n = sscanf(line, "%x %d %63s %15s %lu %ld %63s", &r.key, &r.id,
			   r.owner, r.perms, &r.bytes, &r.nattch, r.status);
		if (n >= 6 && r.id == id) {
			*out = r;
			found = 1;
		}
	}
	if (pclose(f) != 0)
		SHMKIT_FAIL("ipcs -m failed (is util-linux installed?)");
	return found;
}

static void
test_ipcs_shows_sysv_segment(void)
{
	char addr[NAMELEN];
	shmkit_seg_stat_t st;
	struct ipcs_row row;
	shmkit_addr_t a;
	shmkit_seg_t *s;

	seg_name(addr, "sysv");
	SHMKIT_ASSERT_OK(shmkit_addr_parse(&a, addr));
	s = seg_make(addr, 4096);
	seg_map(s, 0);
	SHMKIT_ASSERT_OK(shmkit_seg_stat(s, &st));
	SHMKIT_ASSERT(ipcs_find(st.shmid, &row));
	SHMKIT_ASSERT_EQ(row.key, (unsigned)a.key);
	SHMKIT_ASSERT_STREQ(row.perms, "600");
	SHMKIT_ASSERT_EQ(row.bytes, 4096);
	SHMKIT_ASSERT_EQ(row.nattch, 1);
	SHMKIT_ASSERT_OK(shmkit_seg_unlink(s));
	SHMKIT_ASSERT_OK(shmkit_seg_close(s));
	SHMKIT_ASSERT(!ipcs_find(st.shmid, &row));
}

static void
test_ipcrm_removes_sysv_segment(void)
{
	char addr[NAMELEN], id[32];
	shmkit_seg_stat_t st;
	shmkit_seg_t *s, *t = NULL;
	char *argv[] = { (char *)"ipcrm", (char *)"-m", id, NULL };

	seg_name(addr, "sysv");
	s = seg_make(addr, 4096);
	SHMKIT_ASSERT_OK(shmkit_seg_stat(s, &st));
	SHMKIT_ASSERT_OK(shmkit_seg_close(s));
	snprintf(id, sizeof(id), "%d", st.shmid);
	SHMKIT_ASSERT_CHILD_OK(shmkit_test_spawn_argv(argv));
	SHMKIT_ASSERT_ERR(shmkit_seg_open(&t, addr, NULL), -ENOENT);
	snprintf(addr, sizeof(addr), "sysv-id:%d", st.shmid);
	SHMKIT_ASSERT_ERR(shmkit_seg_open(&t, addr, NULL), -ENOENT);
}

static void
test_sysv_id_address_opens_same_segment(void)
{
	char addr[NAMELEN], byid[64];
	shmkit_seg_stat_t st;
	shmkit_seg_t *s, *t = NULL;
	char *p, *q;

	seg_name(addr, "sysv");
	s = seg_make(addr, 4096);
	p = seg_map(s, 0);
	strcpy(p, "by id");
	SHMKIT_ASSERT_OK(shmkit_seg_stat(s, &st));
	snprintf(byid, sizeof(byid), "sysv-id:%d", st.shmid);
	SHMKIT_ASSERT_OK(shmkit_seg_open(&t, byid, NULL));
	SHMKIT_ASSERT_EQ(shmkit_seg_size(t), 4096);
	q = seg_map(t, SHMKIT_ATTACH_RDONLY);
	SHMKIT_ASSERT_STREQ(q, "by id");
	SHMKIT_ASSERT_OK(shmkit_seg_close(t));
	/* Removal by id address works too. */
	SHMKIT_ASSERT_OK(shmkit_seg_unlink_address(byid));
	SHMKIT_ASSERT_OK(shmkit_seg_close(s));
	SHMKIT_ASSERT_ERR(shmkit_seg_open(&t, byid, NULL), -ENOENT);
}

static void
test_ftok_address(void)
{
	char file[NAMELEN], addr[NAMELEN + 16];
	shmkit_seg_opts_t o = { .size = 4096 };
	shmkit_seg_stat_t st;
	shmkit_seg_t *s = NULL, *t = NULL;
	key_t key;
	int fd;

	snprintf(file, sizeof(file), "%s/ftok-anchor", shmkit_test_tmpdir());
	snprintf(addr, sizeof(addr), "ftok:%s:7", file);
	SHMKIT_ASSERT_ERR(shmkit_seg_create(&s, addr, &o), -ENOENT);
	fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	SHMKIT_ASSERT(fd >= 0);
	close(fd);
	key = ftok(file, 7);
	SHMKIT_ASSERT(key != (key_t)-1);
	/* Not named through shmkit_test_name: the runner cannot sweep it,
	 * so remove it on every path. */
	if (shmget(key, 0, 0) >= 0)
		SHMKIT_SKIP("ftok key 0x%08x is taken", (unsigned)key);
	SHMKIT_ASSERT_OK(shmkit_seg_create(&s, addr, &o));
	SHMKIT_ASSERT_OK(shmkit_seg_stat(s, &st));
	SHMKIT_ASSERT_OK(shmkit_seg_unlink(s));
	SHMKIT_ASSERT_OK(shmkit_seg_close(s));
	SHMKIT_ASSERT_EQ(st.key, key);
	SHMKIT_ASSERT_STREQ(st.address, addr);
	SHMKIT_ASSERT_ERR(shmkit_seg_open(&t, addr, NULL), -ENOENT);
}

struct dest_arg {
	unsigned char *p;
	int go;
};

/* Inherited the attachment through fork; reads after the parent removed
 * the segment. */
static void
dest_child(void *arg)
{
	struct dest_arg *d = arg;
	char c;

	SHMKIT_ASSERT_EQ(read(d->go, &c, 1), 1);
	SHMKIT_ASSERT_EQ(pattern_check(d->p, 100, 31), -1);
	SHMKIT_ASSERT_STREQ((char *)d->p + 100, "after unlink");
	strcpy((char *)d->p + 200, "child saw it");
}

static void
test_sysv_destroy_while_attached(void)
{
	char addr[NAMELEN], byid[64];
	shmkit_seg_stat_t st;
	struct ipcs_row row;
	struct dest_arg d;
	shmkit_seg_t *s, *t = NULL;
	struct shmid_ds ds;
	int go[2], id;
	pid_t pid;

	seg_name(addr, "sysv");
	s = seg_make(addr, 8192);
	d.p = seg_map(s, 0);
	pattern_fill(d.p, 8192, 31);
	SHMKIT_ASSERT_OK(pipe(go));
	d.go = go[0];
	pid = shmkit_test_fork(dest_child, &d);

	SHMKIT_ASSERT_OK(shmkit_seg_unlink(s));
	SHMKIT_ASSERT_OK(shmkit_seg_stat(s, &st));
	id = st.shmid;
	SHMKIT_ASSERT_EQ(st.marked_for_destruction, 1);
	SHMKIT_ASSERT_EQ(st.key, 0);
	SHMKIT_ASSERT_EQ(st.nattch, 2); /* this process and the child */
	SHMKIT_ASSERT_ERR(shmkit_seg_open(&t, addr, NULL), -ENOENT);
	SHMKIT_ASSERT(ipcs_find(id, &row));
	SHMKIT_ASSERT_EQ(row.key, 0);
	SHMKIT_ASSERT(strstr(row.status, "dest") != NULL);

	/* Still ours to use. */
	SHMKIT_ASSERT_EQ(pattern_check(d.p, 8192, 31), -1);
	strcpy((char *)d.p + 100, "after unlink");
	SHMKIT_ASSERT_EQ(write(go[1], "g", 1), 1);
	SHMKIT_ASSERT_CHILD_OK(pid);
	SHMKIT_ASSERT_STREQ((char *)d.p + 200, "child saw it");
	close(go[0]);
	close(go[1]);

	/* The last detach frees it. */
	SHMKIT_ASSERT_OK(shmkit_seg_close(s));
	SHMKIT_ASSERT_EQ(shmctl(id, IPC_STAT, &ds), -1);
	SHMKIT_ASSERT(errno == EINVAL || errno == EIDRM);
	SHMKIT_ASSERT(!ipcs_find(id, &row));
	snprintf(byid, sizeof(byid), "sysv-id:%d", id);
	SHMKIT_ASSERT_ERR(shmkit_seg_open(&t, byid, NULL), -ENOENT);
}

#define DEFINE_CASE(fn, b)                                                     \
	static void fn##_##b(void) { fn(#b); }
#define CASE_ENTRY(fn, b) { #fn "_" #b, fn##_##b },
#define NAMED3(X, fn) X(fn, sysv) X(fn, posix) X(fn, file)

NAMED3(DEFINE_CASE, raw_writes_shmkit_reads)
NAMED3(DEFINE_CASE, shmkit_writes_raw_reads)

SHMKIT_TESTS = {
	NAMED3(CASE_ENTRY, raw_writes_shmkit_reads)
	NAMED3(CASE_ENTRY, shmkit_writes_raw_reads)
	{ "ipcs_shows_sysv_segment", test_ipcs_shows_sysv_segment },
	{ "ipcrm_removes_sysv_segment", test_ipcrm_removes_sysv_segment },
	{ "sysv_id_address_opens_same_segment",
	  test_sysv_id_address_opens_same_segment },
	{ "ftok_address", test_ftok_address },
	{ "sysv_destroy_while_attached", test_sysv_destroy_while_attached },
	{ NULL, NULL },
};
