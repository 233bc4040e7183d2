/*
 * cmd_demo.c: "shmkit demo", a guided tour of shared memory.
 *
 * The demo is a list of sections (demo_sections[]); each tells one story
 * in plain sentences and cleans up after itself. The segment sections
 * (sysv, posix, file, memfd) create a segment, write a question into it,
 * start a second process that attaches and answers, wait for the answer,
 * and remove the segment. The second process is this very program run
 * through /proc/self/exe as the hidden "shmkit demo-peer" command, so the
 * segment really is shared between two unrelated images, not only between
 * a parent and its forked copy. memfd has no name to open: its fd travels
 * to the peer over a unix socket (SCM_RIGHTS), which is how unrelated
 * processes share a memfd. The sections after them (lock, chan, keys,
 * bench) live in demo_<section>.c and use the helpers declared in demo.h;
 * their peers are roles of the same demo-peer command.
 *
 * SIGINT, SIGTERM, SIGHUP and SIGPIPE only set a flag: the section that
 * runs notices it, stops its peer, removes what it made, and the demo then
 * dies of the same signal, as an interrupted program should.
 */
#include "cli.h"
#include "demo.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <shmkit/shmkit.h>

/* Where the peer is: this program, whatever its path or name. */
#define SELF_EXE "/proc/self/exe"

#define DEMO_SEG_SIZE 4096
#define DEMO_TEXT_LEN 64

_Static_assert(ATOMIC_INT_LOCK_FREE == 2,
	       "the demo's flag must be lock-free to work across processes");

/* Values of demo_area.state. */
enum { DEMO_EMPTY = 0, DEMO_ASKED = 1, DEMO_ANSWERED = 2 };

/*
 * What the demo keeps at the start of its segment: plain data, written by
 * one side at a time, handed over by the state flag. The segment itself
 * stays raw (no shmkit header): this layout is the demo's own.
 */
struct demo_area {
	atomic_uint state;
	int32_t peer;		      /* pid that answered */
	char question[DEMO_TEXT_LEN]; /* written by the demo */
	char heard[DEMO_TEXT_LEN];    /* the question as the peer read it */
	char answer[DEMO_TEXT_LEN];   /* written by the peer */
};
_Static_assert(sizeof(struct demo_area) <= DEMO_SEG_SIZE, "fits a segment");

volatile sig_atomic_t demo_signal;

struct demo_section {
	const char *name;
	const char *title;
	/* 0 when the story went as told, -1 after reporting what failed.
	 * Either way everything the section made is gone on return. */
	int (*run)(const struct demo *d);
};

/* One segment story in progress: what to undo when it ends. */
struct story {
	shmkit_seg_t *seg;
	struct demo_area *area;
	char address[SHMKIT_ADDR_STRLEN]; /* canonical, as shmkit prints it */
	int named;			  /* has a name still to unlink */
	pid_t peer;			  /* running peer, or -1 */
	int sock;			  /* our end of the fd socket, or -1 */
};

static void
on_signal(int sig)
{
	demo_signal = sig;
}

static int
catch_signals(void)
{
	/* SIGPIPE too: "shmkit demo | head -1" must not leave segments. */
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
	struct sigaction sa, old;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: waits return early with EINTR */
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		if (sigaction(sigs[i], NULL, &old) < 0)
			return -errno;
		/* Ignored on entry (nohup, a background job of a script):
		 * the caller wants us immune, so stay immune. */
		if (old.sa_handler == SIG_IGN)
			continue;
		if (sigaction(sigs[i], &sa, NULL) < 0)
			return -errno;
	}
	return 0;
}

long
demo_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double
demo_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void
demo_sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000,
			      .tv_nsec = (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/*
 * Copy text another process wrote: at most n - 1 bytes, stopping at NUL,
 * with anything unprintable shown as '?'. Nothing read from shared memory
 * is trusted, not even by a demo.
 */
static void
copy_text(char *dst, const char *src, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n && src[i] != '\0'; i++)
		dst[i] = (src[i] >= ' ' && src[i] <= '~') ? src[i] : '?';
	dst[i] = '\0';
}

void
demo_describe_status(char *buf, size_t len, int status)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d",
			 WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "was killed by signal %d (%s)",
			 WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "stopped (status 0x%x)", (unsigned)status);
}

/* Every fd of ours is close-on-exec: keep_fd is made inheritable in the
 * child only. */
pid_t
demo_spawn_peer(char *const argv[], int keep_fd)
{
	static const char msg[] = "shmkit demo: cannot run " SELF_EXE "\n";
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* The child runs only async-signal-safe calls until exec. */
		if (keep_fd >= 0 && fcntl(keep_fd, F_SETFD, 0) < 0)
			_exit(127);
		execv(SELF_EXE, argv);
		if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
			_exit(127);
		_exit(127);
	}
	return pid;
}

/*
 * Fill argv with "shmkit demo-peer [--delay MS]" (delay is the buffer for
 * MS) and return how many words that took; the caller adds the rest.
 */
static int
peer_argv(const struct demo *d, char **argv, char *delay, size_t len)
{
	int n = 0;

	argv[n++] = CLI_PROGRAM;
	argv[n++] = PEER_CMD;
	if (d->peer_delay_ms > 0) {
		snprintf(delay, len, "%ld", d->peer_delay_ms);
		argv[n++] = "--delay";
		argv[n++] = delay;
	}
	return n;
}

void
demo_tell_started(pid_t pid, char *const argv[])
{
	int i;

	printf("Started peer %d:", (int)pid);
	for (i = 0; argv[i] != NULL; i++)
		printf(" %s", argv[i]);
	printf("\n");
}

void
demo_stop_peer(pid_t *peer)
{
	if (*peer <= 0)
		return;
	kill(*peer, SIGKILL);
	while (waitpid(*peer, NULL, 0) < 0 && errno == EINTR)
		;
	*peer = -1;
}

/*
 * Wait for the peer to set DEMO_ANSWERED, for it to die, for the timeout,
 * or for a signal. Returns 0 when answered; otherwise reports and returns
 * -1 (a signal is reported later, once for the whole demo).
 */
static int
await_answer(const struct demo *d, struct story *s)
{
	long deadline = demo_now_ms() + d->timeout_ms;
	char how[96];
	int status;

	for (;;) {
		/* Acquire: pairs with the peer's release store of
		 * DEMO_ANSWERED in cmd_demo_peer(), so its answer is seen. */
		if (atomic_load_explicit(&s->area->state,
					 memory_order_acquire) == DEMO_ANSWERED)
			return 0;
		if (demo_signal)
			return -1;
		if (waitpid(s->peer, &status, WNOHANG) == s->peer) {
			s->peer = -1;
			if (atomic_load_explicit(&s->area->state,
						 memory_order_acquire) ==
			    DEMO_ANSWERED)
				return 0;
			demo_describe_status(how, sizeof(how), status);
			cli_errorf(DEMO_CMD,
				   "%s: the peer %s without answering",
				   s->address, how);
			return -1;
		}
		if (demo_now_ms() >= deadline) {
			cli_errorf(DEMO_CMD,
				   "%s: no answer from peer %d within %ld ms",
				   s->address, (int)s->peer, d->timeout_ms);
			return -1;
		}
		demo_sleep_ms(1);
	}
}

int
demo_wait_peer(const struct demo *d, pid_t *peer, const char *object,
	       const char *verb, int *status)
{
	long deadline = demo_now_ms() + d->timeout_ms;
	pid_t r;

	for (;;) {
		r = waitpid(*peer, status, WNOHANG);
		if (r == *peer)
			break;
		if (r < 0 && errno != EINTR) {
			cli_error(DEMO_CMD, "waitpid", -errno);
			return -1;
		}
		if (demo_signal)
			return -1;
		if (demo_now_ms() >= deadline) {
			cli_errorf(DEMO_CMD,
				   "%s: peer %d did not %s within %ld ms",
				   object, (int)*peer, verb, d->timeout_ms);
			return -1;
		}
		demo_sleep_ms(1);
	}
	*peer = -1;
	return 0;
}

int
demo_reap_peer(const struct demo *d, pid_t *peer, const char *object)
{
	char how[96];
	int status;

	if (demo_wait_peer(d, peer, object, "exit", &status) < 0)
		return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		demo_describe_status(how, sizeof(how), status);
		cli_errorf(DEMO_CMD, "%s: the peer %s", object, how);
		return -1;
	}
	return 0;
}

int
demo_removed(const char *address, int rc)
{
	if (rc < 0) {
		cli_error(DEMO_CMD, address, rc);
		return -1;
	}
	printf("Removed %s.\n", address);
	return 0;
}

/* Write the question and publish it. Before the peer exists: no race. */
static void
ask(const struct demo *d, struct story *s)
{
	struct demo_area *a = s->area;

	snprintf(a->question, sizeof(a->question), "hello from %d",
		 (int)d->pid);
	/* Release: publishes the question above; pairs with the acquire
	 * load of state in cmd_demo_peer(). */
	atomic_store_explicit(&a->state, DEMO_ASKED, memory_order_release);
	printf("Wrote '%s' into it.\n", a->question);
}

/* Tell what the peer did; called once its answer is published. */
static void
tell_answer(struct story *s)
{
	char heard[DEMO_TEXT_LEN], answer[DEMO_TEXT_LEN];

	copy_text(heard, s->area->heard, sizeof(heard));
	copy_text(answer, s->area->answer, sizeof(answer));
	printf("%s: peer %d read '%s' and answered '%s'.\n", s->address,
	       (int)s->area->peer, heard, answer);
}

/*
 * Create the segment, attach it and take its canonical address. Returns
 * 0, or a negative code with nothing left behind but what s records.
 */
static int
story_create(struct story *s, const char *address)
{
	const shmkit_seg_opts_t opts = {.size = DEMO_SEG_SIZE, .mode = 0600};
	shmkit_seg_stat_t st;
	void *p;
	int rc;

	rc = shmkit_seg_create(&s->seg, address, &opts);
	if (rc < 0)
		return rc;
	s->named = shmkit_seg_backend(s->seg) != SHMKIT_BACKEND_MEMFD;
	rc = shmkit_seg_stat(s->seg, &st);
	if (rc == 0 && st.address[0] != '\0')
		snprintf(s->address, sizeof(s->address), "%s", st.address);
	else
		snprintf(s->address, sizeof(s->address), "%s", address);
	rc = shmkit_seg_attach(s->seg, &p, 0, NULL);
	if (rc < 0)
		return rc;
	s->area = p;
	return 0;
}

/* Undo whatever the story still holds and say so. Keeps going on error. */
static int
story_end(struct story *s)
{
	int rc, ret = 0;

	demo_stop_peer(&s->peer);
	if (s->sock >= 0) {
		close(s->sock);
		s->sock = -1;
	}
	if (s->seg == NULL)
		return 0;
	if (s->named) {
		if (demo_removed(s->address, shmkit_seg_unlink(s->seg)) < 0)
			ret = -1;
		s->named = 0;
	}
	rc = shmkit_seg_close(s->seg);
	s->seg = NULL;
	s->area = NULL;
	if (rc < 0) {
		cli_error(DEMO_CMD, s->address, rc);
		ret = -1;
	}
	return ret;
}

/*
 * Create ADDRESS and tell so; where says more about it (", in /dev/shm").
 * Errors are reported here.
 */
static int
story_begin(struct story *s, const char *address, const char *where)
{
	int rc;

	rc = story_create(s, address);
	if (rc < 0) {
		cli_error(DEMO_CMD, s->address[0] ? s->address : address, rc);
		return rc;
	}
	printf("Created %s (%d bytes, mode 0600)%s.\n", s->address,
	       DEMO_SEG_SIZE, where);
	return 0;
}

/*
 * The part every named backend shares: ask, let a peer open the same
 * address and answer. On return s holds what to clean up.
 */
static int
story_exchange(const struct demo *d, struct story *s)
{
	char delay[32];
	char *argv[8];
	int n;

	n = peer_argv(d, argv, delay, sizeof(delay));
	argv[n++] = s->address;
	argv[n] = NULL;
	ask(d, s);
	s->peer = demo_spawn_peer(argv, -1);
	if (s->peer < 0) {
		cli_error(DEMO_CMD, "fork", s->peer);
		s->peer = -1;
		return -1;
	}
	demo_tell_started(s->peer, argv);
	if (await_answer(d, s) < 0)
		return -1;
	tell_answer(s);
	return demo_reap_peer(d, &s->peer, s->address);
}

/*
 * System V: removal while attached. IPC_RMID only marks the segment; it
 * loses its key but lives on for whoever is attached. Returns the shmid,
 * or -1 after reporting what went wrong.
 */
static int
sysv_marked(struct story *s)
{
	char answer[DEMO_TEXT_LEN];
	shmkit_seg_stat_t st;
	shmkit_seg_t *again;
	int rc;

	rc = shmkit_seg_unlink(s->seg);
	if (rc < 0) {
		cli_error(DEMO_CMD, s->address, rc);
		return -1;
	}
	s->named = 0;
	rc = shmkit_seg_stat(s->seg, &st);
	if (rc < 0) {
		cli_error(DEMO_CMD, s->address, rc);
		return -1;
	}
	if (!st.marked_for_destruction) {
		cli_errorf(DEMO_CMD,
			   "%s: removed, but not marked for destruction",
			   s->address);
		return -1;
	}
	copy_text(answer, s->area->answer, sizeof(answer));
	printf("Removed %s while still attached: the kernel marked shmid %d "
	       "for destruction\n(ipcs -m shows key 0x%08x, status dest, "
	       "%ld attached), and it is still readable: '%s'.\n",
	       s->address, st.shmid, (unsigned)st.key, st.nattch, answer);
	rc = shmkit_seg_open(&again, s->address, NULL);
	if (rc == 0) {
		shmkit_seg_close(again);
		cli_errorf(DEMO_CMD, "%s: still opens after removal",
			   s->address);
		return -1;
	}
	printf("Opening %s again fails: %s (the key is gone).\n", s->address,
	       shmkit_strerror(rc));
	return st.shmid;
}

static int
demo_sysv(const struct demo *d)
{
	struct story s = {.peer = -1, .sock = -1};
	char address[32], byid[32];
	shmkit_seg_stat_t st;
	unsigned high;
	int ret = -1, rc, shmid;

	/* A key made from our pid (pids fit in 24 bits), so concurrent
	 * demos do not meet; if another program holds the key, take the
	 * next high byte. */
	for (high = 0x53;; high++) {
		snprintf(address, sizeof(address), "sysv:0x%08x",
			 (high << 24) | ((unsigned)d->pid & 0xffffffu));
		rc = story_create(&s, address);
		if (rc != -EEXIST || high == 0x5a)
			break;
	}
	if (rc < 0) {
		cli_error(DEMO_CMD, s.address[0] ? s.address : address, rc);
		goto out;
	}
	printf("Created %s (%d bytes, mode 0600), its key made from our "
	       "pid.\n",
	       s.address, DEMO_SEG_SIZE);
	if (story_exchange(d, &s) < 0 || demo_signal)
		goto out;
	shmid = sysv_marked(&s);
	if (shmid < 0 || demo_signal)
		goto out;
	rc = shmkit_seg_close(s.seg);
	s.seg = NULL;
	if (rc < 0) {
		cli_error(DEMO_CMD, s.address, rc);
		goto out;
	}
	snprintf(byid, sizeof(byid), "sysv-id:%d", shmid);
	rc = shmkit_seg_stat_address(byid, &st);
	if (rc < 0)
		printf("Detached: that was the last attachment, so the kernel "
		       "freed it (%s: %s).\n",
		       byid, shmkit_strerror(rc));
	else
		printf("Detached; %s still exists: another process is "
		       "attached.\n",
		       byid);
	ret = 0;
out:
	if (story_end(&s) < 0)
		ret = -1;
	return ret;
}

static int
demo_posix(const struct demo *d)
{
	struct story s = {.peer = -1, .sock = -1};
	char address[64], where[96];
	int ret = -1;

	snprintf(address, sizeof(address), "posix:/shmkit-demo-%d",
		 (int)d->pid);
	snprintf(where, sizeof(where), ", seen as /dev/shm/shmkit-demo-%d",
		 (int)d->pid);
	if (story_begin(&s, address, where) < 0)
		goto out;
	if (story_exchange(d, &s) < 0 || demo_signal)
		goto out;
	ret = 0;
out:
	if (story_end(&s) < 0)
		ret = -1;
	return ret;
}

static int
demo_file(const struct demo *d)
{
	struct story s = {.peer = -1, .sock = -1};
	char address[SHMKIT_ADDR_STRLEN];
	const char *dir = getenv("TMPDIR");
	int ret = -1, rc;

	/* Not in the working directory: the demo must leave no trace. */
	if (dir == NULL || dir[0] != '/')
		dir = "/tmp";
	rc = snprintf(address, sizeof(address), "file:%s/shmkit-demo-%d", dir,
		      (int)d->pid);
	if (rc < 0 || (size_t)rc >= sizeof(address)) {
		cli_errorf(DEMO_CMD, "file: TMPDIR is too long");
		return -1;
	}
	if (story_begin(&s, address, ", a regular file on disk") < 0)
		goto out;
	if (story_exchange(d, &s) < 0 || demo_signal)
		goto out;
	rc = shmkit_seg_sync(s.seg, 0, 0, 0);
	if (rc < 0) {
		cli_error(DEMO_CMD, s.address, rc);
		goto out;
	}
	printf("Synced it with msync: the contents are in an ordinary file "
	       "now, and would\nstay there across a reboot on a disk file "
	       "system.\n");
	ret = 0;
out:
	if (story_end(&s) < 0)
		ret = -1;
	return ret;
}

static int
demo_memfd(const struct demo *d)
{
	struct story s = {.peer = -1, .sock = -1};
	char address[64], delay[32], sockarg[32];
	char *argv[8];
	int sv[2], ret = -1, rc, n;

	snprintf(address, sizeof(address), "memfd:shmkit-demo-%d", (int)d->pid);
	rc = story_create(&s, address);
	if (rc == -ENOTSUP && s.seg == NULL) {
		printf("Skipped: this libshmkit was built without memfd.\n");
		return 0;
	}
	if (rc < 0) {
		cli_error(DEMO_CMD, s.address[0] ? s.address : address, rc);
		goto out;
	}
	printf("Created %s (%d bytes, mode 0600), a file with no name in any "
	       "directory.\n",
	       s.address, DEMO_SEG_SIZE);
	ask(d, &s);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		cli_error(DEMO_CMD, "socketpair", -errno);
		goto out;
	}
	s.sock = sv[0];
	snprintf(sockarg, sizeof(sockarg), "%d", sv[1]);
	n = peer_argv(d, argv, delay, sizeof(delay));
	argv[n++] = "--socket";
	argv[n++] = sockarg;
	argv[n] = NULL;
	s.peer = demo_spawn_peer(argv, sv[1]);
	close(sv[1]);
	if (s.peer < 0) {
		cli_error(DEMO_CMD, "fork", s.peer);
		s.peer = -1;
		goto out;
	}
	rc = shmkit_seg_send(s.sock, s.seg);
	if (rc < 0) {
		cli_error(DEMO_CMD, s.address, rc);
		goto out;
	}
	demo_tell_started(s.peer, argv);
	printf("Sent it the memfd's fd over that unix socket "
	       "(SCM_RIGHTS).\n");
	if (await_answer(d, &s) < 0)
		goto out;
	tell_answer(&s);
	if (demo_reap_peer(d, &s.peer, s.address) < 0 || demo_signal)
		goto out;
	rc = shmkit_seg_close(s.seg);
	s.seg = NULL;
	if (rc < 0) {
		cli_error(DEMO_CMD, s.address, rc);
		goto out;
	}
	printf("Closed %s: with its last fd and mapping gone, the kernel "
	       "frees it.\n",
	       s.address);
	ret = 0;
out:
	if (story_end(&s) < 0)
		ret = -1;
	return ret;
}

static const struct demo_section demo_sections[] = {
	{"sysv", "System V shared memory: shmget, shmat", demo_sysv},
	{"posix", "POSIX shared memory: shm_open, mmap", demo_posix},
	{"file", "A file mapped with MAP_SHARED: open, mmap, msync", demo_file},
	{"memfd", "memfd: memfd_create, fd passed over a unix socket",
	 demo_memfd},
	{"lock", "A robust lock: its holder is killed, the next locker repairs",
	 demo_lock},
	{"chan", "A channel: a million messages from one process to another",
	 demo_chan},
	{"keys",
	 "The key store: keys a server shares with its clients' services",
	 demo_keys},
	{"bench", "How fast is it? shmkit bench --quick, 64-byte messages",
	 demo_bench},
	{NULL, NULL, NULL},
};

static const struct demo_section *
find_section(const char *name)
{
	const struct demo_section *sec;

	for (sec = demo_sections; sec->name != NULL; sec++)
		if (strcmp(sec->name, name) == 0)
			return sec;
	return NULL;
}

static void
demo_usage(void)
{
	const struct demo_section *sec;

	printf("Usage: %s %s [OPTIONS] [SECTION]...\n\n", CLI_PROGRAM,
	       DEMO_CMD);
	printf("Show shared memory at work, in plain sentences: a segment on "
	       "each backend\nread by a second process, a lock that survives "
	       "its holder's death, a\nchannel moving a million messages, the "
	       "key store and a quick benchmark.\nEvery section removes what "
	       "it made. Without SECTION, run them all, in the\norder "
	       "below.\n\n");
	printf("Sections:\n");
	for (sec = demo_sections; sec->name != NULL; sec++)
		printf("  %-8s  %s\n", sec->name, sec->title);
	printf("\nOptions:\n");
	printf("  -t, --timeout MS     how long to wait for a peer at each "
	       "step (default %d)\n",
	       DEMO_TIMEOUT_MS);
	printf("      --peer-delay MS  make each peer wait MS milliseconds "
	       "before it starts\n");
	printf("  -l, --list           list the sections and exit\n");
	printf("  -h, --help           print this help and exit\n");
}

int
cmd_demo(int argc, char **argv)
{
	enum { OPT_PEER_DELAY = 256 };
	static const struct option longopts[] = {
		{"timeout", required_argument, NULL, 't'},
		{"peer-delay", required_argument, NULL, OPT_PEER_DELAY},
		{"list", no_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct demo d = {.timeout_ms = DEMO_TIMEOUT_MS};
	const struct demo_section *sec;
	int c, i, rc, failed = 0, ran = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":t:lh", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			d.timeout_ms = cli_parse_uint(DEMO_CMD, "--timeout",
						      optarg, DEMO_MAX_MS);
			if (d.timeout_ms < 0)
				return CLI_EXIT_USAGE;
			break;
		case OPT_PEER_DELAY:
			d.peer_delay_ms = cli_parse_uint(
				DEMO_CMD, "--peer-delay", optarg, DEMO_MAX_MS);
			if (d.peer_delay_ms < 0)
				return CLI_EXIT_USAGE;
			break;
		case 'l':
			for (sec = demo_sections; sec->name != NULL; sec++)
				printf("%s\n", sec->name);
			return CLI_EXIT_OK;
		case 'h':
			demo_usage();
			return CLI_EXIT_OK;
		default:
			return cli_getopt_error(DEMO_CMD, c, argv);
		}
	}
	for (i = optind; i < argc; i++)
		if (find_section(argv[i]) == NULL)
			return cli_usage_error(DEMO_CMD, "unknown section '%s'",
					       argv[i]);

	rc = catch_signals();
	if (rc < 0) {
		cli_error(DEMO_CMD, "sigaction", rc);
		return CLI_EXIT_FAIL;
	}
	/* Line-buffered even into a pipe: the story is told as it happens
	 * and stays in order with the peer's messages on stderr. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	d.pid = getpid();
	for (sec = demo_sections; sec->name != NULL && !demo_signal; sec++) {
		if (optind < argc) {
			for (i = optind; i < argc; i++)
				if (strcmp(argv[i], sec->name) == 0)
					break;
			if (i == argc)
				continue;
		}
		printf("%s== %s ==\n", ran++ ? "\n" : "", sec->title);
		if (sec->run(&d) < 0 && !demo_signal)
			failed++;
	}
	/* Before the signal check: this line too can meet a closed pipe. */
	if (!failed && !demo_signal)
		printf("\nAll done: every segment the demo made is removed.\n");
	if (demo_signal) {
		int sig = demo_signal;

		/* A reader that went away needs no explanation. */
		if (sig != SIGPIPE)
			cli_errorf(DEMO_CMD,
				   "interrupted by signal %d (%s); removed "
				   "what it had made",
				   sig, strsignal(sig));
		fflush(stdout);
		signal(sig, SIG_DFL);
		raise(sig);
		return CLI_EXIT_FAIL;
	}
	if (failed) {
		cli_errorf(DEMO_CMD, "%d of %d sections failed", failed, ran);
		return CLI_EXIT_FAIL;
	}
	return CLI_EXIT_OK;
}

/*
 * cmd_demo_peer - the demo's second process (hidden command):
 *   shmkit demo-peer [--delay MS] ADDRESS      open a named segment
 *   shmkit demo-peer [--delay MS] --socket FD  receive a segment's fd
 *   shmkit demo-peer --lock [--delay MS] [--timeout MS] ADDRESS
 *   shmkit demo-peer --chan [--from N] --count N [--die-at N] [--delay MS]
 *                    [--timeout MS] ADDRESS
 * The segment roles read the question, answer it and exit 0; the lock and
 * chan roles are in demo_lock.c and demo_chan.c. On any problem a peer
 * prints why and exits 1. Never creates or removes anything.
 */
int
cmd_demo_peer(int argc, char **argv)
{
	enum { ROLE_SEG, ROLE_LOCK, ROLE_CHAN };
	static const struct option longopts[] = {
		{"delay", required_argument, NULL, 'd'},
		{"socket", required_argument, NULL, 's'},
		{"lock", no_argument, NULL, 'L'},
		{"chan", no_argument, NULL, 'C'},
		{"count", required_argument, NULL, 'n'},
		{"from", required_argument, NULL, 'f'},
		{"die-at", required_argument, NULL, 'k'},
		{"timeout", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const shmkit_seg_opts_t opts = {.size = sizeof(struct demo_area)};
	char question[DEMO_TEXT_LEN], what[64];
	const char *object;
	struct demo_area *a;
	shmkit_seg_t *seg;
	long delay = 0, sock = -1, count = -1, timeout = DEMO_TIMEOUT_MS;
	long from = 0, die_at = LONG_MAX;
	int c, rc, role = ROLE_SEG;
	void *p;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:s:n:f:k:t:h", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'L':
			role = ROLE_LOCK;
			break;
		case 'C':
			role = ROLE_CHAN;
			break;
		case 'n':
			count = cli_parse_uint(PEER_CMD, "--count", optarg,
					       LONG_MAX);
			if (count < 0)
				return CLI_EXIT_USAGE;
			break;
		case 'f':
			from = cli_parse_uint(PEER_CMD, "--from", optarg,
					      LONG_MAX);
			if (from < 0)
				return CLI_EXIT_USAGE;
			break;
		case 'k':
			die_at = cli_parse_uint(PEER_CMD, "--die-at", optarg,
						LONG_MAX);
			if (die_at < 0)
				return CLI_EXIT_USAGE;
			break;
		case 't':
			timeout = cli_parse_uint(PEER_CMD, "--timeout", optarg,
						 DEMO_MAX_MS);
			if (timeout < 0)
				return CLI_EXIT_USAGE;
			break;
		case 'd':
			delay = cli_parse_uint(PEER_CMD, "--delay", optarg,
					       DEMO_MAX_MS);
			if (delay < 0)
				return CLI_EXIT_USAGE;
			break;
		case 's':
			sock = cli_parse_uint(PEER_CMD, "--socket", optarg,
					      INT32_MAX);
			if (sock < 0)
				return CLI_EXIT_USAGE;
			break;
		case 'h':
			printf("Usage: %s %s [--delay MS] ADDRESS\n"
			       "       %s %s [--delay MS] --socket FD\n"
			       "       %s %s --lock [--delay MS] "
			       "[--timeout MS] ADDRESS\n"
			       "       %s %s --chan [--from N] --count N "
			       "[--die-at N] [--delay MS]\n"
			       "              [--timeout MS] ADDRESS\n\n"
			       "The second process of '%s %s', which runs "
			       "it: answers the\nquestion in a segment, by "
			       "address or received over a socket; takes\n"
			       "the lock and waits to be killed; or receives "
			       "messages and checks them.\n",
			       CLI_PROGRAM, PEER_CMD, CLI_PROGRAM, PEER_CMD,
			       CLI_PROGRAM, PEER_CMD, CLI_PROGRAM, PEER_CMD,
			       CLI_PROGRAM, DEMO_CMD);
			return CLI_EXIT_OK;
		default:
			return cli_getopt_error(PEER_CMD, c, argv);
		}
	}
	if (role != ROLE_SEG) {
		if (argc - optind != 1 || sock >= 0)
			return cli_usage_error(PEER_CMD, "expected ADDRESS");
		if (role == ROLE_LOCK)
			return demo_lock_peer(argv[optind], delay, timeout);
		if (count < 0)
			return cli_usage_error(PEER_CMD,
					       "--chan needs --count");
		return demo_chan_peer(argv[optind], (unsigned long)from,
				      (unsigned long)count,
				      (unsigned long)die_at, delay, timeout);
	}
	if (argc - optind != (sock < 0 ? 1 : 0))
		return cli_usage_error(PEER_CMD, "expected ADDRESS or "
						 "--socket FD");
	if (sock >= 0) {
		snprintf(what, sizeof(what), "socket %ld", sock);
		object = what;
		rc = shmkit_seg_recv(&seg, (int)sock, &opts);
		close((int)sock);
	} else {
		object = argv[optind];
		rc = shmkit_seg_open(&seg, object, &opts);
	}
	if (rc < 0) {
		cli_error(PEER_CMD, object, rc);
		return CLI_EXIT_FAIL;
	}
	rc = shmkit_seg_attach(seg, &p, 0, NULL);
	if (rc < 0) {
		cli_error(PEER_CMD, object, rc);
		shmkit_seg_close(seg);
		return CLI_EXIT_FAIL;
	}
	a = p;
	/* Acquire: pairs with the release store of DEMO_ASKED in ask(). */
	if (atomic_load_explicit(&a->state, memory_order_acquire) !=
	    DEMO_ASKED) {
		cli_errorf(PEER_CMD, "%s: no question in the segment", object);
		shmkit_seg_close(seg);
		return CLI_EXIT_FAIL;
	}
	copy_text(question, a->question, sizeof(question));
	if (delay > 0)
		demo_sleep_ms(delay);
	memcpy(a->heard, question, sizeof(question));
	snprintf(a->answer, sizeof(a->answer), "hello back from %d",
		 (int)getpid());
	a->peer = (int32_t)getpid();
	/* Release: publishes heard, answer and peer; pairs with the acquire
	 * load of state in await_answer(). */
	atomic_store_explicit(&a->state, DEMO_ANSWERED, memory_order_release);
	rc = shmkit_seg_close(seg);
	if (rc < 0) {
		cli_error(PEER_CMD, object, rc);
		return CLI_EXIT_FAIL;
	}
	return CLI_EXIT_OK;
}
