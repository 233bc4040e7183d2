/*
 * objects.h: the shared-memory objects on this host, as the shmkit command
 * sees them: System V segments from /proc/sysvipc/shm, POSIX objects and
 * semaphores from /dev/shm, who maps what from /proc/PID/maps, and shmkit's
 * own structured objects recognised by their header. Used by ls, stat and
 * rm; the library knows nothing of listings.
 */
#ifndef SHMKIT_CLI_OBJECTS_H
#define SHMKIT_CLI_OBJECTS_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include <shmkit/shmkit.h>

enum obj_type {
	OBJ_SYSV = 1, /* System V segment */
	OBJ_POSIX,    /* POSIX shared memory object */
	OBJ_SEM,      /* POSIX named semaphore (/dev/shm/sem.NAME) */
};

#define NAME_MAX_BYTES 256

/* The processes that map an object (a bounded list: enough to show). */
#define OBJ_MAX_PIDS 32

/* The peers of a channel kept with it (the counts cover all of them). */
#define OBJ_MAX_PEERS 16

struct obj {
	enum obj_type type;
	char address[SHMKIT_ADDR_STRLEN];
	char name[NAME_MAX_BYTES];  /* POSIX name with its '/', else "" */
	long long key;              /* System V key, -1 otherwise */
	int id;                     /* System V shmid, -1 otherwise */
	mode_t perms;
	uid_t uid, cuid;
	gid_t gid, cgid;
	unsigned long long size;
	long nattch;                /* attach count or mapping processes */
	int dest;                   /* System V: marked for destruction */
	int locked;                 /* System V: SHM_LOCK */
	pid_t cpid, lpid;           /* System V; -1 otherwise */
	time_t atime, dtime, ctime, mtime;
	char kind[16];              /* shmkit object kind, "" if none */
	unsigned version;           /* its layout version (if kind[0]) */
	char health[16];            /* shmkit objects: ok, corrupt,
				       incompatible, broken, idle, orphaned */
	int state;                  /* header's SHMKIT_OBJ_STATE_*, 0 if none */
	long users;                 /* processes attaching or mapping it,
				       this one aside */
	int npids;                  /* mapping processes found (<= MAX) */
	pid_t pids[OBJ_MAX_PIDS];
	int hidden_maps;            /* some processes' maps were unreadable,
				       so POSIX users may be missing */
	int creator_alive;          /* shmkit objects: 1, 0, -1 unknown */
	/* Channels: what shmkit_chan_inspect() said, if chan_ok. */
	int chan_ok;
	int chan_err;               /* else why not (0: not a channel) */
	shmkit_chan_info_t chan;
	int chan_alive;             /* registered peers alive */
	int chan_unknown;           /* registered peers of unknown state */
	int chan_npeers;            /* entries in chan_peers (<= MAX) */
	shmkit_chan_peer_info_t chan_peers[OBJ_MAX_PEERS];
	/* Tables and key stores nobody uses: their records, counted through
	 * a read-only handle; -1 when not counted (records_err says why, 0
	 * when there was no need to). */
	long records;
	int records_err;
};

/* Which objects a listing collects. */
#define OBJ_WANT_SYSV 0x1u
#define OBJ_WANT_POSIX 0x2u
#define OBJ_WANT_SHMKIT 0x4u /* only objects with a shmkit header */
#define OBJ_PROBE_SYSV 0x8u  /* attach System V segments to probe them */

/*
 * objects_list - collect the objects selected by want into a new array
 * (*out, *count; free with free()). Objects that vanish while being read
 * are skipped. Returns 0 or a negative errno.
 */
int objects_list(unsigned want, struct obj **out, size_t *count);

/*
 * objects_find - fill *o for the object at ADDRESS (sysv:, sysv-id:, ftok:,
 * posix:, /name). probe_sysv: attach a System V segment read-only to look
 * for a shmkit header. Returns 0, -ENOENT, -EINVAL, ...
 */
int objects_find(const char *address, int probe_sysv, struct obj *o);

/*
 * objects_chan_peers - shmkit_chan_inspect() the channel at address, with
 * all of its registered peers in a new array (*peers, *n; free with
 * free(); NULL when there are none). Read-only. Returns 0 or the error of
 * shmkit_chan_inspect(), or -ENOMEM.
 */
int objects_chan_peers(const char *address, shmkit_chan_info_t *info,
		       shmkit_chan_peer_info_t **peers, size_t *n);

/*
 * objects_keep_reason - why o is not stale (see shmkit rm --stale), into
 * buf, or NULL when it is stale: a shmkit object that no process attaches
 * or maps, whose creator is dead, no peer of which is alive, and that
 * holds no data (no pending message, no record), or that was left half
 * made by its creator, or is corrupt. Whatever cannot be known keeps it.
 * *idle (may be NULL) is set to 1 when the data it holds is the only
 * reason, else 0.
 */
const char *objects_keep_reason(const struct obj *o, int *idle, char *buf,
				size_t len);

/* "sysv", "posix", "sem". */
const char *obj_type_name(enum obj_type t);

/* The command name of pid ("?" if unknown), into buf. */
const char *obj_pid_comm(pid_t pid, char *buf, size_t len);

#endif /* SHMKIT_CLI_OBJECTS_H */
