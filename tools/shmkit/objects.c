/*
 * Enumerating shared memory the way an operator needs it: every System V
 * segment and POSIX object in one list, with the processes that map each
 * (POSIX objects have no attach count in the kernel) and shmkit's header
 * check. Everything read here may change under us or be hostile: objects
 * that vanish are skipped, headers are read with pread (a mapping of a
 * file another process truncates would SIGBUS) and validated by
 * shmkit_obj_probe().
 */
#include "objects.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

/* A mapping of shared memory seen in some /proc/PID/maps. */
struct mapping {
	pid_t pid;
	int sysv;              /* 1: "/SYSVkkkkkkkk", inode is the shmid */
	unsigned long inode;
};

struct mappings {
	struct mapping *v;
	size_t n, cap;
	int hidden; /* processes whose maps we may not read */
};

const char *
obj_type_name(enum obj_type t)
{
	switch (t) {
	case OBJ_SYSV:
		return "sysv";
	case OBJ_POSIX:
		return "posix";
	case OBJ_SEM:
		return "sem";
	}
	return "?";
}

const char *
obj_pid_comm(pid_t pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, buf, len - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0) {
		snprintf(buf, len, "?");
		return buf;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

static int
add_mapping(struct mappings *m, pid_t pid, int sysv, unsigned long inode)
{
	size_t i;

	/* One entry per process and object: a process often maps an
	 * object several times (guard pages, remaps). */
	for (i = m->n; i > 0 && m->v[i - 1].pid == pid; i--) {
		if (m->v[i - 1].sysv == sysv && m->v[i - 1].inode == inode)
			return 0;
	}
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		struct mapping *v = realloc(m->v, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		m->v = v;
		m->cap = cap;
	}
	m->v[m->n++] = (struct mapping){ pid, sysv, inode };
	return 0;
}

/* Reads the shared mappings of every process we may read. */
static int
scan_maps(struct mappings *m)
{
	char path[64], line[4352];
	struct dirent *de;
	DIR *proc;
	FILE *f;

	proc = opendir("/proc");
	if (proc == NULL)
		return -errno;
	while ((de = readdir(proc)) != NULL) {
		pid_t pid;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = (pid_t)atoi(de->d_name);
		snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
		f = fopen(path, "re");
		if (f == NULL) {
			/* Gone, or not ours to read: the second hides who
			 * maps what. */
			if (errno != ENOENT && errno != ESRCH)
				m->hidden = 1;
			continue;
		}
		while (fgets(line, sizeof(line), f) != NULL) {
			unsigned long inode;
			char perms[8];
			int off = 0;

			if (sscanf(line, "%*s %7s %*s %*s %lu %n", perms, &inode,
				   &off) < 2 || off == 0 || perms[3] != 's')
				continue;
			if (strncmp(line + off, "/SYSV", 5) == 0) {
				if (add_mapping(m, pid, 1, inode) < 0)
					break;
			} else if (strncmp(line + off, "/dev/shm/", 9) == 0) {
				if (add_mapping(m, pid, 0, inode) < 0)
					break;
			}
		}
		fclose(f);
	}
	closedir(proc);
	return 0;
}

static void
attach_pids(struct obj *o, const struct mappings *m, int sysv,
	    unsigned long inode)
{
	size_t i;

	o->npids = 0;
	o->hidden_maps = m->hidden;
	for (i = 0; i < m->n; i++) {
		if (m->v[i].sysv != sysv || m->v[i].inode != inode)
			continue;
		if (o->npids < OBJ_MAX_PIDS)
			o->pids[o->npids] = m->v[i].pid;
		o->npids++;
	}
	if (o->npids > OBJ_MAX_PIDS)
		o->npids = OBJ_MAX_PIDS;
}

/* Judges the first SHMKIT_OBJ_HDR_SIZE bytes of an object of len bytes. */
static void
judge_header(struct obj *o, const void *hdr, size_t len, long users)
{
	shmkit_obj_info_t info;
	int rc;

	rc = shmkit_obj_probe(hdr, len, &info);
	if (rc == SHMKIT_ENOTOBJ)
		return;
	snprintf(o->kind, sizeof(o->kind), "%s",
		 shmkit_obj_kind_name(info.kind));
	o->version = info.version;
	o->creator_alive = info.creator_alive;
	if (rc == SHMKIT_ECORRUPT)
		snprintf(o->health, sizeof(o->health), "corrupt");
	else if (rc == SHMKIT_EABI || rc == SHMKIT_EVERSION)
		snprintf(o->health, sizeof(o->health), "incompatible");
	else if (info.state == SHMKIT_OBJ_STATE_BROKEN)
		snprintf(o->health, sizeof(o->health), "broken");
	else
		snprintf(o->health, sizeof(o->health), "ok");
	o->state = (int)info.state;
	o->users = users;
}

int
objects_chan_peers(const char *address, shmkit_chan_info_t *info,
		   shmkit_chan_peer_info_t **peers, size_t *n)
{
	shmkit_chan_peer_info_t *v = NULL, *nv;
	size_t cap = 0;
	int rc, tries;

	/* Peers may register between two calls: grow and ask again, a few
	 * times, then show what fits. */
	for (tries = 0; tries < 4; tries++) {
		rc = shmkit_chan_inspect(address, info, v, cap);
		if (rc < 0 || (size_t)rc <= cap)
			break;
		nv = realloc(v, ((size_t)rc + 8) * sizeof(*v));
		if (nv == NULL) {
			rc = -ENOMEM;
			break;
		}
		v = nv;
		cap = (size_t)rc + 8;
	}
	if (rc < 0) {
		free(v);
		return rc;
	}
	*peers = v;
	*n = (size_t)rc < cap ? (size_t)rc : cap;
	return 0;
}

/* A channel's peers into *o, for ls and stat; failures leave chan_ok 0. */
static void
inspect_chan(struct obj *o)
{
	shmkit_chan_peer_info_t *peers;
	size_t i, n;

	if (strcmp(o->kind, "chan") != 0)
		return;
	o->chan_err = objects_chan_peers(o->address, &o->chan, &peers, &n);
	if (o->chan_err < 0)
		return;
	o->chan_ok = 1;
	for (i = 0; i < n; i++) {
		o->chan_alive += peers[i].alive > 0;
		o->chan_unknown += peers[i].alive < 0;
		if (i < OBJ_MAX_PEERS)
			o->chan_peers[o->chan_npeers++] = peers[i];
	}
	free(peers);
}

/*
 * The records of a table or key store that nobody else uses, through a
 * read-only handle of our own, closed at once. Only then: a count is not
 * worth mapping (and, for a key store, locking) every store on the host.
 */
static void
count_records(struct obj *o)
{
	shmkit_table_t *t;
	shmkit_keys_t *ks;
	long n;
	int rc;

	o->records = -1;
	o->records_err = 0;
	if (o->users > 0 || o->creator_alive != 0 ||
	    o->state != SHMKIT_OBJ_STATE_READY ||
	    strcmp(o->health, "ok") != 0)
		return;
	if (strcmp(o->kind, "keys") == 0) {
		rc = shmkit_keys_open(&ks, o->address,
				      SHMKIT_KEYS_RDONLY |
					      SHMKIT_KEYS_NOLOCK_OK);
		if (rc < 0) {
			o->records_err = rc;
			return;
		}
		n = shmkit_keys_count(ks);
		shmkit_keys_close(ks);
	} else if (strcmp(o->kind, "table") == 0) {
		rc = shmkit_table_open(&t, o->address,
				       SHMKIT_TABLE_RDONLY |
					       SHMKIT_TABLE_NOLOCK_OK);
		if (rc < 0) {
			o->records_err = rc;
			return;
		}
		n = shmkit_table_count(t);
		shmkit_table_close(t);
	} else {
		return;
	}
	if (n < 0)
		o->records_err = (int)n;
	else
		o->records = n;
}

/* An error that says no process can use the object any more. */
static int
unusable(int err)
{
	return err == SHMKIT_ECORRUPT || err == SHMKIT_EBROKEN;
}

const char *
objects_keep_reason(const struct obj *o, int *idle, char *buf, size_t len)
{
	long users = o->type == OBJ_SYSV ? o->nattch : o->npids;

	if (idle != NULL)
		*idle = 0;
	if (o->kind[0] == '\0')
		return "not a shmkit object";
	if (users > 0) {
		snprintf(buf, len, "%s by %ld process%s",
			 o->type == OBJ_SYSV ? "attached" : "mapped", users,
			 users == 1 ? "" : "es");
		return buf;
	}
	/* POSIX objects have no attach count: a process whose maps we may
	 * not read could map one that others may open. */
	if (o->type != OBJ_SYSV && o->hidden_maps && (o->perms & 077))
		return "open to other users, whose processes cannot all be "
		       "seen";
	if (o->creator_alive > 0)
		return "its creator is alive";
	if (o->creator_alive < 0)
		return "its creator's state is unknown";
	/* Half made by a creator now dead, or found corrupt: nobody can
	 * use it, and nothing in it can be trusted to be data. */
	if (o->state == SHMKIT_OBJ_STATE_INIT ||
	    o->state == SHMKIT_OBJ_STATE_BROKEN ||
	    strcmp(o->health, "corrupt") == 0)
		return NULL;
	/* Another build's layout: its contents cannot be checked here. */
	if (strcmp(o->health, "incompatible") == 0)
		return "made by an incompatible shmkit, its contents cannot "
		       "be checked";
	if (strcmp(o->kind, "chan") == 0) {
		if (!o->chan_ok)
			return unusable(o->chan_err) ?
				       NULL :
				       "its peers cannot be read";
		if (o->chan_alive > 0)
			return "a peer is alive";
		if (o->chan_unknown > 0)
			return "a peer's state is unknown";
		if (o->chan.pending == 0)
			return NULL;
		if (idle != NULL)
			*idle = 1;
		snprintf(buf, len, "it holds %llu pending message%s",
			 (unsigned long long)o->chan.pending,
			 o->chan.pending == 1 ? "" : "s");
		return buf;
	}
	if (o->records < 0)
		return unusable(o->records_err) ?
			       NULL :
			       "its records cannot be counted";
	if (o->records == 0)
		return NULL;
	if (idle != NULL)
		*idle = 1;
	snprintf(buf, len, "it holds %ld record%s", o->records,
		 o->records == 1 ? "" : "s");
	return buf;
}

/*
 * After the header, the peers and the records: a sound object nobody
 * uses is "orphaned" when rm --stale would remove it, "idle" when only
 * the data it holds keeps it.
 */
static void
judge_use(struct obj *o)
{
	char why[96];
	int idle;

	if (o->kind[0] == '\0')
		return;
	count_records(o);
	if (strcmp(o->health, "ok") != 0 || o->users > 0 ||
	    o->creator_alive != 0)
		return;
	if (objects_keep_reason(o, &idle, why, sizeof(why)) == NULL)
		snprintf(o->health, sizeof(o->health), "orphaned");
	else if (idle)
		snprintf(o->health, sizeof(o->health), "idle");
}

static void
probe_posix(struct obj *o, int dirfd_shm, const char *file)
{
	unsigned char hdr[SHMKIT_OBJ_HDR_SIZE];
	ssize_t n;
	int fd;

	fd = openat(dirfd_shm, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
					     O_NONBLOCK);
	if (fd < 0)
		return;
	/* pread, not mmap: a peer may truncate the file at any moment. */
	n = pread(fd, hdr, sizeof(hdr), 0);
	close(fd);
	if (n == (ssize_t)sizeof(hdr))
		judge_header(o, hdr, (size_t)o->size, o->npids);
	inspect_chan(o);
	judge_use(o);
}

static void
probe_sysv(struct obj *o)
{
	const void *p;

	if (o->size < SHMKIT_OBJ_HDR_SIZE)
		return;
	p = shmat(o->id, NULL, SHM_RDONLY);
	if (p == (void *)-1)
		return;
	/* nattch was read before our own attach: it counts the others. */
	judge_header(o, p, (size_t)o->size, o->nattch);
	shmdt(p);
	inspect_chan(o);
	judge_use(o);
}

static void
obj_init(struct obj *o, enum obj_type t)
{
	memset(o, 0, sizeof(*o));
	o->type = t;
	o->key = -1;
	o->id = -1;
	o->cpid = -1;
	o->lpid = -1;
	o->creator_alive = -1;
	o->records = -1;
}

/* One line of /proc/sysvipc/shm into *o. */
static int
parse_sysv_line(const char *line, struct obj *o)
{
	long long key, atime, dtime, ctime;
	unsigned long long size;
	unsigned mode, uid, gid, cuid, cgid;
	long nattch;
	int id, cpid, lpid;

	if (sscanf(line, "%lld %d %o %llu %d %d %ld %u %u %u %u %lld %lld %lld",
		   &key, &id, &mode, &size, &cpid, &lpid, &nattch, &uid, &gid,
		   &cuid, &cgid, &atime, &dtime, &ctime) != 14)
		return -EINVAL;
	obj_init(o, OBJ_SYSV);
	o->key = (long long)(unsigned)(int)key;
	o->id = id;
	o->perms = mode & 0777;
	o->dest = (mode & SHM_DEST) != 0;
	o->locked = (mode & SHM_LOCKED) != 0;
	o->size = size;
	o->cpid = cpid;
	o->lpid = lpid;
	o->nattch = nattch;
	o->uid = uid;
	o->gid = gid;
	o->cuid = cuid;
	o->cgid = cgid;
	o->atime = (time_t)atime;
	o->dtime = (time_t)dtime;
	o->ctime = (time_t)ctime;
	if (key != 0)
		snprintf(o->address, sizeof(o->address), "sysv:0x%08x",
			 (unsigned)key);
	else /* private or marked for destruction: only the id names it */
		snprintf(o->address, sizeof(o->address), "sysv-id:%d", id);
	return 0;
}

struct objvec {
	struct obj *v;
	size_t n, cap;
};

static struct obj *
objvec_add(struct objvec *ov)
{
	if (ov->n == ov->cap) {
		size_t cap = ov->cap ? ov->cap * 2 : 16;
		struct obj *v = realloc(ov->v, cap * sizeof(*v));

		if (v == NULL)
			return NULL;
		ov->v = v;
		ov->cap = cap;
	}
	return &ov->v[ov->n++];
}

static int
list_sysv(struct objvec *ov, const struct mappings *m, unsigned want)
{
	char line[512];
	FILE *f = fopen("/proc/sysvipc/shm", "re");
	struct obj *o;

	if (f == NULL)
		return errno == ENOENT ? 0 : -errno;
	if (fgets(line, sizeof(line), f) == NULL) { /* the header */
		fclose(f);
		return 0;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		o = objvec_add(ov);
		if (o == NULL) {
			fclose(f);
			return -ENOMEM;
		}
		if (parse_sysv_line(line, o) < 0) {
			ov->n--;
			continue;
		}
		attach_pids(o, m, 1, (unsigned long)o->id);
		if (want & OBJ_PROBE_SYSV)
			probe_sysv(o);
		if ((want & OBJ_WANT_SHMKIT) && !(want & OBJ_WANT_SYSV) &&
		    o->kind[0] == '\0')
			ov->n--;
	}
	fclose(f);
	return 0;
}

/* Fills *o from a /dev/shm entry; -ENOENT if it vanished or is no file. */
static int
posix_entry(int dfd, const char *file, const struct mappings *m,
	    struct obj *o)
{
	struct stat st;

	if (fstatat(dfd, file, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -ENOENT;
	if (strncmp(file, "sem.", 4) == 0) {
		obj_init(o, OBJ_SEM);
		snprintf(o->name, sizeof(o->name), "/%s", file + 4);
	} else {
		obj_init(o, OBJ_POSIX);
		snprintf(o->name, sizeof(o->name), "/%s", file);
	}
	snprintf(o->address, sizeof(o->address), "posix:/%s", file);
	o->perms = st.st_mode & 07777;
	o->uid = o->cuid = st.st_uid;
	o->gid = o->cgid = st.st_gid;
	o->size = (unsigned long long)st.st_size;
	o->atime = st.st_atime;
	o->mtime = st.st_mtime;
	o->ctime = st.st_ctime;
	attach_pids(o, m, 0, (unsigned long)st.st_ino);
	o->nattch = o->npids;
	if (o->type == OBJ_POSIX)
		probe_posix(o, dfd, file);
	return 0;
}

static int
list_posix(struct objvec *ov, const struct mappings *m, unsigned want)
{
	struct dirent *de;
	struct obj *o;
	DIR *d = opendir("/dev/shm");

	if (d == NULL)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		o = objvec_add(ov);
		if (o == NULL) {
			closedir(d);
			return -ENOMEM;
		}
		/* Vanished between readdir and stat: not an error. */
		if (posix_entry(dirfd(d), de->d_name, m, o) < 0 ||
		    ((want & OBJ_WANT_SHMKIT) && !(want & OBJ_WANT_POSIX) &&
		     o->kind[0] == '\0'))
			ov->n--;
	}
	closedir(d);
	return 0;
}

static int
cmp_obj(const void *a, const void *b)
{
	const struct obj *x = a, *y = b;

	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	if (x->type == OBJ_SYSV)
		return x->id < y->id ? -1 : x->id > y->id;
	return strcmp(x->name, y->name);
}

int
objects_list(unsigned want, struct obj **out, size_t *count)
{
	struct mappings m = { 0 };
	struct objvec ov = { 0 };
	int rc;

	rc = scan_maps(&m);
	if (rc == 0 && (want & (OBJ_WANT_SYSV | OBJ_WANT_SHMKIT)))
		rc = list_sysv(&ov, &m, want);
	if (rc == 0 && (want & (OBJ_WANT_POSIX | OBJ_WANT_SHMKIT)))
		rc = list_posix(&ov, &m, want);
	free(m.v);
	if (rc < 0) {
		free(ov.v);
		return rc;
	}
	if (ov.n > 1)
		qsort(ov.v, ov.n, sizeof(*ov.v), cmp_obj);
	*out = ov.v;
	*count = ov.n;
	return 0;
}

static int
find_sysv(int shmid, const struct mappings *m, int probe, struct obj *o)
{
	char line[512];
	FILE *f = fopen("/proc/sysvipc/shm", "re");
	int rc = -ENOENT;

	if (f == NULL)
		return -errno;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (parse_sysv_line(line, o) == 0 && o->id == shmid) {
			attach_pids(o, m, 1, (unsigned long)o->id);
			if (probe)
				probe_sysv(o);
			rc = 0;
			break;
		}
	}
	fclose(f);
	return rc;
}

int
objects_find(const char *address, int probe_sysv, struct obj *o)
{
	struct mappings m = { 0 };
	shmkit_addr_t a;
	key_t key;
	int rc, id, dfd;

	rc = shmkit_addr_parse(&a, address);
	if (rc < 0)
		return rc;
	rc = scan_maps(&m);
	if (rc < 0)
		return rc;
	switch (a.kind) {
	case SHMKIT_ADDR_SYSV_KEY:
	case SHMKIT_ADDR_FTOK:
		rc = shmkit_addr_key(&a, &key);
		if (rc < 0)
			break;
		/* shmget finds the id without needing read permission. */
		id = shmget(key, 0, 0);
		rc = id < 0 ? -errno : find_sysv(id, &m, probe_sysv, o);
		break;
	case SHMKIT_ADDR_SYSV_ID:
		rc = find_sysv(a.id, &m, probe_sysv, o);
		break;
	case SHMKIT_ADDR_POSIX:
		dfd = open("/dev/shm", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0) {
			rc = -errno;
			break;
		}
		rc = posix_entry(dfd, a.path + 1, &m, o);
		close(dfd);
		break;
	case SHMKIT_ADDR_FILE:
	case SHMKIT_ADDR_MEMFD:
		rc = -ENOTSUP;
		break;
	}
	free(m.v);
	return rc;
}
