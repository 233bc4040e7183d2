/*
 * bench.h: what the files of "shmkit bench" share.
 *
 * The benchmark is a table of mechanisms (pipe, sockets, queues, signals,
 * eventfd, shared memory...). Each row names a set of operations written
 * in one bench_<family>.c file; the driver (bench_run.c) forks a peer,
 * pins the two processes to different CPUs, and measures every row in the
 * same way: a ping-pong for round-trip latency, then a one-way stream for
 * throughput. Mechanisms only move bytes; the driver stamps every message
 * with a sequence number and a pattern and checks both on arrival, so a
 * mechanism that loses, reorders or tears data fails instead of looking
 * fast. bench_output.c prints the results (table, JSON, CSV, plot).
 */
#ifndef SHMKIT_BENCH_H
#define SHMKIT_BENCH_H

#include <limits.h>
#include <mqueue.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <shmkit/chan.h>
#include <shmkit/seg.h>

#define BENCH_CMD "bench"

/* How a mechanism relates to the message sizes the user asked for. */
enum bench_kind {
	BENCH_PAYLOAD, /* carries any size up to its limit */
	BENCH_ZEROCOPY, /* as PAYLOAD, but hands messages over in place:
			 * only stamps are written and read, so it has no
			 * copy bandwidth (bytes/s) to show */
	BENCH_TOKEN,   /* carries no payload: one row, size 0 */
	BENCH_FLOOR,   /* one cache line: one row, size 64 */
	BENCH_LOCAL,   /* memcpy in one process: the bandwidth ceiling */
	BENCH_SYNC,    /* a shmkit sync object vs its plain counterpart
			* (bench_sync.c): no per-size rows */
};

/* Sides of a pair: the parent measures, the child answers. */
enum { BENCH_PARENT = 0, BENCH_CHILD = 1 };

struct bench_ctx;

/*
 * A mechanism's operations. Each runs in one process on its own copy of
 * the context (fork copies it); "dir" is implied by ctx->side: the parent
 * sends towards the child and receives from it, and the child the reverse.
 *
 * setup   parent, before fork: create and open everything both sides need
 *         and remove every name that fork makes unnecessary, so that an
 *         interrupted run leaves nothing behind. -EMSGSIZE: this size is
 *         beyond the mechanism (reported n/a, ctx->why says why); other
 *         negative errno: failure. Undoes its own work on failure.
 * attach  optional, each side after fork: drop what the side does not use.
 * send    one message of len bytes; 0 or a negative errno.
 * recv    one message of exactly len bytes into buf; 0 or a negative errno.
 * fini    parent, at the end: close, unmap and remove whatever names
 *         remain. Must cope with a failed or partial run. The child never
 *         calls it: it is killed, and the kernel closes what it held.
 */
struct bench_ops {
	int (*setup)(struct bench_ctx *c);
	void (*attach)(struct bench_ctx *c);
	int (*send)(struct bench_ctx *c, const void *buf, size_t len);
	int (*recv)(struct bench_ctx *c, void *buf, size_t len);
	void (*fini)(struct bench_ctx *c);
};

/* One row of the mechanism table (cmd_bench.c). */
struct bench_mech {
	const char *name;  /* --only and output spelling */
	const char *what;  /* one line for --list */
	enum bench_kind kind;
	const struct bench_ops *ops;
	int arg;           /* variant: socket type, backend, wait mode */
};

/* Per-run state of one mechanism at one size, copied into the child. */
struct bench_ctx {
	const struct bench_mech *mech;
	size_t size;   /* bytes per message */
	int side;      /* BENCH_PARENT or BENCH_CHILD, set after fork */
	pid_t peer;    /* the other process, set after fork */
	char why[160]; /* reason for n/a or failure, from setup */

	/* Mechanism state; each family uses what it needs. */
	int fd[4];     /* pipes, sockets, eventfds: -1 when closed */
	mqd_t mq[2];
	int msqid;
	void *map;     /* shared memory */
	size_t map_len;
	shmkit_seg_t *seg;
	char path[PATH_MAX];
	uint64_t expect;  /* eventfd: next value to decode */
	uint64_t pending; /* eventfd: decoded messages not yet returned */
	void *buf;        /* System V msgbuf: mtype + payload */
	/* Channels (bench_chan.c): one segment and one handle per
	 * direction, [0] parent to child, [1] child to parent. */
	shmkit_seg_t *chseg[2];
	shmkit_chan_t *chan[2];
	int chan_err;     /* the child's failure to open its handles */
	/* Set by the driver (bench_run.c) before each send: 1 when another
	 * message follows at once (the stream, but its last message), for
	 * the rows that can batch (chan-posix-more). */
	int more;
};

/* Results of one mechanism at one size. */
enum bench_status { BENCH_OK, BENCH_NA, BENCH_FAILED };

enum { BENCH_P50, BENCH_P90, BENCH_P99, BENCH_P999, BENCH_MAX, BENCH_NLAT };

struct bench_result {
	const struct bench_mech *mech;
	size_t size;
	enum bench_status status;
	char why[200];           /* n/a or failure reason */
	double lat[BENCH_NLAT];  /* round-trip nanoseconds */
	unsigned long samples;   /* latency samples */
	double msgs;             /* one-way messages per second */
	double bytes;            /* one-way bytes per second (0: no payload) */
	/* Ratios; 0 when the baseline is missing. */
	double lat_floor;        /* p50 / floor p50 */
	double lat_pipe;         /* p50 / pipe p50 at the same size */
	double tput_pipe;        /* msgs/s / pipe msgs/s at the same size */
	double tput_memcpy;      /* bytes/s / memcpy bytes/s, same size */
};

/* What the user asked for. */
struct bench_opts {
	size_t sizes[32];
	int nsizes;
	unsigned long iterations; /* latency round trips measured */
	unsigned long warmup;     /* round trips before measuring */
	double duration;          /* seconds: throughput, latency cap */
	int progress;
	int pin;
};

/* The machine, for the header of every output. */
struct bench_machine {
	char cpu[128];
	long cores;
	char kernel[256];
	int pinned;
	int cpu_a, cpu_b;  /* parent's and child's CPU when pinned */
};

/* The mechanism table and its length (cmd_bench.c). */
extern const struct bench_mech bench_mechs[];
extern const size_t bench_nmechs;

/* Operations of each family. */
extern const struct bench_ops bench_pipe_ops, bench_fifo_ops;
extern const struct bench_ops bench_socket_ops, bench_tcp_ops;
extern const struct bench_ops bench_posix_mq_ops, bench_sysv_msg_ops;
extern const struct bench_ops bench_signal_ops, bench_eventfd_ops;
extern const struct bench_ops bench_floor_ops, bench_shm_ops;
extern const struct bench_ops bench_chan_ops;

/* mech->arg of the shm-* and chan-* rows: the backend (low byte), plus
 * one of these for how a waiting side waits (none: busy-poll). */
#define BENCH_WAIT_FUTEX    0x100 /* shm-futex: sleeps on a futex */
#define BENCH_WAIT_ADAPTIVE 0x200 /* chan: SHMKIT_CHAN_WAIT_ADAPTIVE */
#define BENCH_WAIT_BLOCK    0x400 /* chan: SHMKIT_CHAN_WAIT_BLOCK */
#define BENCH_MORE          0x800 /* chan: SHMKIT_CHAN_MORE when c->more */

/* The address of a segment of backend b for this run (bench_shm.c):
 * shmkit-bench-<pid>-<attempt> names, System V keys 0x5b......; a
 * creation that meets -EEXIST retries with the next attempt. */
int bench_shm_address(char *buf, size_t len, shmkit_backend_t b,
		      unsigned attempt);

/* The signal used by the signal mechanism (blocked in both processes). */
#define BENCH_SIGNAL (SIGRTMIN + 3)

/*
 * bench_run.c: the driver.
 *
 * bench_signals_init installs the handlers that let a run be interrupted
 * (SIGINT, SIGTERM, SIGHUP) and notice a dead peer (SIGCHLD); none of them
 * restarts system calls, so a blocked mechanism returns EINTR and asks
 * bench_check() whether to carry on. bench_signals_fini restores them.
 */
void bench_signals_init(void);
void bench_signals_fini(void);
int bench_interrupted(void); /* the signal number that stopped us, or 0 */

/* 0: retry the interrupted call; negative errno: give up (-ECANCELED
 * interrupted, -ECHILD peer gone, -ETIMEDOUT peer stopped answering). */
int bench_check(void);

/* Spin-wait helper for busy-poll mechanisms: call in the loop body with a
 * counter starting at 0; returns 0 to keep spinning, or bench_check()'s
 * error. Yields the CPU now and then so one core can still make progress. */
int bench_spin(unsigned long *spins);

/* Whole-buffer read and write, retrying short transfers and EINTR. A
 * read that meets end of file gives -ECONNRESET (peer closed). */
int bench_write_full(int fd, const void *buf, size_t len);
int bench_read_full(int fd, void *buf, size_t len);

/* Copy from src to dst (len bytes each) exactly the bytes the driver
 * stamps into every message and checks on arrival: the sequence number,
 * one byte per 4 KiB page and the last byte. Zero-copy mechanisms (the
 * chan-* rows) move these and nothing else, as a program that builds its
 * messages in place would. */
void bench_copy_stamped(void *dst, const void *src, size_t len);

/* Close *fd if open and mark it closed. */
void bench_close(int *fd);

/* Measure one mechanism at one size into *r (never fails: a failure is
 * r->status BENCH_FAILED with the reason in r->why). */
void bench_measure(const struct bench_mech *m, size_t size,
		   const struct bench_opts *o, const struct bench_machine *mc,
		   struct bench_result *r);

/* Fill *mc and choose the CPUs to pin to. */
void bench_machine_probe(struct bench_machine *mc, int pin);

/*
 * bench_sync.c: the synchronisation section. Each BENCH_SYNC mechanism
 * (arg: which) is one result: the shmkit object's median cost next to
 * its baseline's, measured together in the same run.
 */
enum { BENCH_SYNC_MUTEX, BENCH_SYNC_EVENT };

struct bench_sync_result {
	const struct bench_mech *mech;
	enum bench_status status;
	char why[200];         /* n/a or failure reason */
	const char *base;      /* the baseline's name */
	double ns;             /* shmkit: median ns per op or round trip */
	double base_ns;        /* the baseline's, measured alongside */
	double ratio;          /* ns / base_ns; 0 when not measured */
	unsigned long samples; /* batches or round trips per side */
};

/* Measure one BENCH_SYNC mechanism into *r (never fails: a failure is
 * r->status BENCH_FAILED, a missing facility BENCH_NA, with r->why). */
void bench_sync_measure(const struct bench_mech *m,
			const struct bench_opts *o,
			const struct bench_machine *mc,
			struct bench_sync_result *r);

/* bench_output.c. */
enum bench_format { BENCH_TABLE, BENCH_JSON, BENCH_CSV };

int bench_print(FILE *f, enum bench_format fmt, const struct bench_opts *o,
		const struct bench_machine *mc, const struct bench_result *r,
		size_t n, const struct bench_sync_result *sr, size_t ns);
/* Check that gnuplot can be run (before a long run): 0 or -ENOENT. */
int bench_plot_check(void);
/* Write the plot; 0 or a negative errno, with a message printed. */
int bench_plot(const char *file, const struct bench_machine *mc,
	       const struct bench_result *r, size_t n);
/* "4K", "1M", "64": a size as the table shows it; any size_t fits. */
#define BENCH_SIZE_STR 24
void bench_fmt_size(char *buf, size_t len, size_t size);

#endif /* SHMKIT_BENCH_H */
