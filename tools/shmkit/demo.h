/*
 * demo.h: what the files of "shmkit demo" share.
 *
 * cmd_demo.c holds the section table, the segment sections (one per
 * backend) and the hidden "demo-peer" command; each later section of the
 * story lives in demo_<section>.c. A section with a second process starts
 * it with demo_spawn_peer(): this very program, re-run through
 * /proc/self/exe as "shmkit demo-peer --<section> ...", whose role the
 * section's file also provides.
 */
#ifndef SHMKIT_DEMO_H
#define SHMKIT_DEMO_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#define DEMO_CMD "demo"
#define PEER_CMD "demo-peer"

#define DEMO_TIMEOUT_MS 5000
#define DEMO_MAX_MS	3600000L /* an hour: any larger value is a typo */

/* What every section is given. */
struct demo {
	pid_t pid;	    /* the demo's own, which names its objects */
	long timeout_ms;    /* how long to wait for a peer */
	long peer_delay_ms; /* slow the segment peers down (tests) */
};

/*
 * The signal (SIGINT, SIGTERM, SIGHUP, SIGPIPE) that asked the demo to
 * stop, or 0. A section that sees it stops its peer, removes what it
 * made and returns -1; the demo then dies of the same signal.
 */
extern volatile sig_atomic_t demo_signal;

/* CLOCK_MONOTONIC in milliseconds and in seconds. */
long demo_now_ms(void);
double demo_now_s(void);

/* Sleep ms milliseconds, or less when a signal arrives. */
void demo_sleep_ms(long ms);

/* "exited with status 1", "was killed by signal 9 (Killed)"... */
void demo_describe_status(char *buf, size_t len, int status);

/*
 * Start "shmkit demo-peer ARGS" (argv[0] is "shmkit") from
 * /proc/self/exe. keep_fd, if >= 0, is made inheritable in the child only.
 * Returns the pid or -errno.
 */
pid_t demo_spawn_peer(char *const argv[], int keep_fd);

/* Print "Started peer PID: shmkit demo-peer ARGS". */
void demo_tell_started(pid_t pid, char *const argv[]);

/* Kill a peer that is still running (*peer > 0) with SIGKILL, reap it and
 * set *peer to -1. */
void demo_stop_peer(pid_t *peer);

/*
 * Wait up to d->timeout_ms for *peer to exit, then set *peer to -1. Returns
 * 0 if it exited with status 0; otherwise reports what happened, naming
 * object, and returns -1 (a signal is reported later by the demo, and
 * leaves *peer running for the caller to stop).
 */
int demo_reap_peer(const struct demo *d, pid_t *peer, const char *object);

/*
 * Wait up to d->timeout_ms for *peer to end, its wait status into
 * *status, then set *peer to -1. Returns 0, or -1 on a signal or after
 * reporting "OBJECT: peer PID did not VERB within N ms" or a failed
 * waitpid (leaving *peer running for the caller to stop).
 */
int demo_wait_peer(const struct demo *d, pid_t *peer, const char *object,
		   const char *verb, int *status);

/* Report removing address, which returned rc: "Removed ADDRESS." and 0,
 * or -1 after reporting the error. */
int demo_removed(const char *address, int rc);

/* Sections after the segment ones: 0 when the story went as told, -1
 * after reporting what failed; either way nothing they made is left. */
int demo_lock(const struct demo *d);
int demo_chan(const struct demo *d);
int demo_keys(const struct demo *d);
int demo_bench(const struct demo *d);

/* Peer roles, run by "shmkit demo-peer --lock|--chan ... ADDRESS":
 * start after delay_ms, give up after timeout_ms, and return a CLI_EXIT_*
 * status after reporting any failure. */
int demo_lock_peer(const char *address, long delay_ms, long timeout_ms);
int demo_chan_peer(const char *address, unsigned long from, unsigned long count,
		   unsigned long die_at, long delay_ms, long timeout_ms);

#endif /* SHMKIT_DEMO_H */
