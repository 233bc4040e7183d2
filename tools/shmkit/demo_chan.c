/*
 * demo_chan.c: the demo's "chan" section, a million messages through a
 * channel.
 *
 * The demo creates a single-producer single-consumer channel in a POSIX
 * segment and starts a peer that opens it as the consumer. Once the peer
 * is attached, the demo writes CHAN_COUNT messages of CHAN_MSG bytes in
 * place (reserve, write, commit: the channel copies nothing), each
 * stamped with its sequence number at both ends; the peer reads each in
 * place (peek, check, release) and fails at the first message missing,
 * out of order or torn. The peer exits 0 only when it has checked every
 * message, so its exit status is the verification; the time runs from
 * the first message sent to the last one released.
 *
 * Then the takeover: a consumer dies (SIGKILL) holding a message it
 * peeked and did not release, and a new consumer opens the channel in its
 * place and gets that message again, with no cleanup by anyone.
 */
#include "cli.h"
#include "demo.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <shmkit/shmkit.h>

#define CHAN_COUNT 1000000ul
#define CHAN_MSG   64
#define CHAN_SLOTS 1024

/* The takeover: this many messages, the first consumer dies holding
 * message CHAN_TAKEOVER_DIE. */
#define CHAN_TAKEOVER	  100
#define CHAN_TAKEOVER_DIE 40

/* How often (in messages) the sender checks for a signal or a dead peer:
 * rarely enough to cost nothing, often enough to react at once. */
#define CHAN_CHECK_EVERY 65536ul

static struct timespec
ms_to_ts(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000,
			      .tv_nsec = (ms % 1000) * 1000000L};

	return ts;
}

/* Message seq: its number first, its complement last, a pattern between,
 * so a message that is lost, repeated, reordered or torn is noticed. */
static void
stamp(unsigned char *m, uint64_t seq)
{
	uint64_t inv = ~seq;

	memcpy(m, &seq, sizeof(seq));
	memset(m + sizeof(seq), (int)(seq & 0xff), CHAN_MSG - 2 * sizeof(seq));
	memcpy(m + CHAN_MSG - sizeof(inv), &inv, sizeof(inv));
}

/* 0 when m is message seq, or -EBADMSG. */
static int
check(const unsigned char *m, uint64_t seq)
{
	uint64_t got, inv;
	size_t i;

	memcpy(&got, m, sizeof(got));
	memcpy(&inv, m + CHAN_MSG - sizeof(inv), sizeof(inv));
	if (got != seq || inv != ~seq)
		return -EBADMSG;
	for (i = sizeof(seq); i < CHAN_MSG - sizeof(inv); i++)
		if (m[i] != (unsigned char)(seq & 0xff))
			return -EBADMSG;
	return 0;
}

/* Is the peer still running? Reports and clears *peer when it is not. */
static int
peer_alive(const char *address, pid_t *peer, const char *doing)
{
	char how[96];
	int status;

	if (waitpid(*peer, &status, WNOHANG) != *peer)
		return 1;
	*peer = -1;
	demo_describe_status(how, sizeof(how), status);
	cli_errorf(DEMO_CMD, "%s: the peer %s %s", address, how, doing);
	return 0;
}

/* Wait for the consumer to attach, so the clock does not count its
 * start-up. */
static int
await_consumer(const struct demo *d, shmkit_chan_t *ch, const char *address,
	       pid_t *peer)
{
	long deadline = demo_now_ms() + d->timeout_ms;
	shmkit_chan_info_t info;
	int rc;

	for (;;) {
		rc = shmkit_chan_info(ch, &info);
		if (rc < 0) {
			cli_error(DEMO_CMD, address, rc);
			return -1;
		}
		if (info.peers >= 2)
			return 0;
		if (demo_signal)
			return -1;
		if (!peer_alive(address, peer, "before opening the channel"))
			return -1;
		if (demo_now_ms() >= deadline) {
			cli_errorf(DEMO_CMD,
				   "%s: peer %d did not open the channel "
				   "within %ld ms",
				   address, (int)*peer, d->timeout_ms);
			return -1;
		}
		demo_sleep_ms(1);
	}
}

/* Send messages from..to-1, watching the peer if there is one. Returns
 * 0, or -1 after reporting. */
static int
send_all(const struct demo *d, shmkit_chan_t *ch, const char *address,
	 pid_t *peer, uint64_t from, uint64_t to)
{
	const struct timespec to_wait = ms_to_ts(d->timeout_ms);
	uint64_t seq;
	void *buf;
	int rc;

	for (seq = from; seq < to; seq++) {
		if (seq % CHAN_CHECK_EVERY == 0 &&
		    (demo_signal ||
		     (*peer > 0 &&
		      !peer_alive(address, peer, "while receiving"))))
			return -1;
		/* SHMKIT_WAIT_INTR: a Ctrl-C that lands while the wait
		 * sleeps ends it at once; one that lands between sleeps is
		 * seen when to_wait ends. */
		do
			rc = shmkit_chan_reserve(ch, CHAN_MSG, &buf, &to_wait,
						 SHMKIT_WAIT_INTR);
		while (rc == -EINTR && !demo_signal);
		if (rc < 0) {
			if (demo_signal)
				return -1;
			if (*peer > 0 &&
			    !peer_alive(address, peer, "while receiving"))
				return -1;
			cli_errorf(DEMO_CMD, "%s: message %llu: %s", address,
				   (unsigned long long)seq,
				   shmkit_strerror(rc));
			return -1;
		}
		stamp(buf, seq);
		rc = shmkit_chan_commit(ch, CHAN_MSG);
		if (rc < 0) {
			cli_error(DEMO_CMD, address, rc);
			return -1;
		}
	}
	return 0;
}

/* Wait until the consumer has released total messages; 0 or -1. */
static int
await_released(const struct demo *d, shmkit_chan_t *ch, const char *address,
	       pid_t *peer, uint64_t total)
{
	long deadline = demo_now_ms() + d->timeout_ms;
	shmkit_chan_info_t info;
	int rc;

	for (;;) {
		rc = shmkit_chan_info(ch, &info);
		if (rc < 0) {
			cli_error(DEMO_CMD, address, rc);
			return -1;
		}
		if (info.received >= total)
			return 0;
		if (demo_signal)
			return -1;
		if (*peer > 0 && !peer_alive(address, peer, "while receiving"))
			return -1;
		if (demo_now_ms() >= deadline) {
			cli_errorf(DEMO_CMD,
				   "%s: the peer received %llu of %llu "
				   "messages within %ld ms",
				   address, (unsigned long long)info.received,
				   (unsigned long long)total, d->timeout_ms);
			return -1;
		}
		demo_sleep_ms(1);
	}
}

/* Where a peer starts and stops: it checks messages from..count-1 and,
 * when die_at < count, kills itself holding message die_at. */
struct chan_role {
	unsigned long from, count, die_at;
};

/* Start a consumer peer with that role; 0 or -1 after reporting. */
static int
start_consumer(const struct demo *d, const char *address,
	       const struct chan_role *role, pid_t *peer)
{
	char from[32], count[32], die[32], timeout[32], delay[32];
	char *argv[16];
	int n = 0;

	snprintf(from, sizeof(from), "%lu", role->from);
	snprintf(count, sizeof(count), "%lu", role->count);
	snprintf(die, sizeof(die), "%lu", role->die_at);
	snprintf(timeout, sizeof(timeout), "%ld", d->timeout_ms);
	argv[n++] = CLI_PROGRAM;
	argv[n++] = PEER_CMD;
	argv[n++] = "--chan";
	if (d->peer_delay_ms > 0) {
		snprintf(delay, sizeof(delay), "%ld", d->peer_delay_ms);
		argv[n++] = "--delay";
		argv[n++] = delay;
	}
	if (role->from > 0) {
		argv[n++] = "--from";
		argv[n++] = from;
	}
	argv[n++] = "--count";
	argv[n++] = count;
	if (role->die_at < role->count) {
		argv[n++] = "--die-at";
		argv[n++] = die;
	}
	argv[n++] = "--timeout";
	argv[n++] = timeout;
	argv[n++] = (char *)address;
	argv[n] = NULL;
	*peer = demo_spawn_peer(argv, -1);
	if (*peer < 0) {
		cli_error(DEMO_CMD, "fork", *peer);
		*peer = -1;
		return -1;
	}
	demo_tell_started(*peer, argv);
	return 0;
}

/* The million, timed from the first message sent to the last one the
 * peer released. */
static int
stream(const struct demo *d, shmkit_chan_t *ch, const char *address,
       pid_t *peer)
{
	const struct chan_role role = {0, CHAN_COUNT, CHAN_COUNT};
	double t0, t1;
	pid_t pid;

	if (start_consumer(d, address, &role, peer) < 0)
		return -1;
	pid = *peer;
	if (await_consumer(d, ch, address, peer) < 0)
		return -1;
	printf("It opened the channel as the consumer. Sending %lu messages "
	       "of %d bytes,\neach written in place and stamped with its "
	       "sequence number...\n",
	       CHAN_COUNT, CHAN_MSG);
	t0 = demo_now_s();
	if (send_all(d, ch, address, peer, 0, CHAN_COUNT) < 0)
		return -1;
	if (await_released(d, ch, address, peer, CHAN_COUNT) < 0)
		return -1;
	t1 = demo_now_s();
	if (demo_reap_peer(d, peer, address) < 0)
		return -1;
	printf("Peer %d checked each message as it arrived: %lu messages "
	       "verified, in order.\n",
	       (int)pid, CHAN_COUNT);
	printf("That took %.3f s: %.2f million messages per second, %.0f ns "
	       "per message.\n",
	       t1 - t0, (double)CHAN_COUNT / (t1 - t0) / 1e6,
	       (t1 - t0) * 1e9 / (double)CHAN_COUNT);
	return 0;
}

/* Wait for a peer that kills itself; it must die of SIGKILL. */
static int
await_suicide(const struct demo *d, const char *address, pid_t *peer)
{
	char how[96];
	int status;

	if (demo_wait_peer(d, peer, address, "die", &status) < 0)
		return -1;
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
		demo_describe_status(how, sizeof(how), status);
		cli_errorf(DEMO_CMD, "%s: the peer %s instead of dying",
			   address, how);
		return -1;
	}
	return 0;
}

/*
 * A consumer dies holding a message; a new one takes its place and gets
 * that message again. The messages are all in the channel before either
 * starts (CHAN_TAKEOVER < CHAN_SLOTS), so nothing waits on the demo.
 */
static int
takeover(const struct demo *d, shmkit_chan_t *ch, const char *address,
	 pid_t *peer)
{
	const struct chan_role dies = {0, CHAN_TAKEOVER, CHAN_TAKEOVER_DIE};
	const struct chan_role next = {CHAN_TAKEOVER_DIE, CHAN_TAKEOVER,
				       CHAN_TAKEOVER};
	pid_t first, second;

	_Static_assert(CHAN_TAKEOVER < CHAN_SLOTS, "fits without waiting");
	if (send_all(d, ch, address, peer, 0, CHAN_TAKEOVER) < 0)
		return -1;
	printf("\nThen a consumer that dies: the demo sent %d more messages, "
	       "numbered 0 to %d.\n",
	       CHAN_TAKEOVER, CHAN_TAKEOVER - 1);
	if (start_consumer(d, address, &dies, peer) < 0)
		return -1;
	first = *peer;
	if (await_suicide(d, address, peer) < 0)
		return -1;
	printf("Peer %d read messages 0 to %d, took %d without releasing "
	       "it, and was killed\nwith SIGKILL.\n",
	       (int)first, CHAN_TAKEOVER_DIE - 1, CHAN_TAKEOVER_DIE);
	if (start_consumer(d, address, &next, peer) < 0)
		return -1;
	second = *peer;
	if (demo_reap_peer(d, peer, address) < 0)
		return -1;
	printf("Peer %d opened the channel in the dead one's place and "
	       "received %d to %d:\nthe message it held came again, none "
	       "lost, none twice. Nobody cleaned up by hand.\n",
	       (int)second, CHAN_TAKEOVER_DIE, CHAN_TAKEOVER - 1);
	return 0;
}

static int
chan_story(const struct demo *d, const char *address, shmkit_chan_t **ch,
	   pid_t *peer)
{
	int rc;

	rc = shmkit_chan_open(ch, address,
			      SHMKIT_CHAN_PRODUCER | SHMKIT_CHAN_WAIT_ADAPTIVE);
	if (rc < 0) {
		cli_error(DEMO_CMD, address, rc);
		return -1;
	}
	if (stream(d, *ch, address, peer) < 0 || demo_signal)
		return -1;
	return takeover(d, *ch, address, peer);
}

int
demo_chan(const struct demo *d)
{
	const shmkit_chan_opts_t opts = {
		.pattern = SHMKIT_CHAN_SPSC,
		.msg_max = CHAN_MSG,
		.slots = CHAN_SLOTS,
		.mode = 0600,
	};
	shmkit_chan_t *ch = NULL;
	char address[64];
	pid_t peer = -1;
	int ret = -1, rc;

	snprintf(address, sizeof(address), "posix:/shmkit-demo-chan-%d",
		 (int)d->pid);
	rc = shmkit_chan_create(address, &opts);
	if (rc < 0) {
		cli_error(DEMO_CMD, address, rc);
		return -1;
	}
	printf("Created %s (%zu bytes, mode 0600): a channel\nfrom one "
	       "producer to one consumer, %d slots of %d bytes.\n",
	       address, shmkit_chan_size(&opts), CHAN_SLOTS, CHAN_MSG);
	if (chan_story(d, address, &ch, &peer) < 0 || demo_signal)
		goto out;
	ret = 0;
out:
	demo_stop_peer(&peer);
	shmkit_chan_close(ch);
	if (demo_removed(address, shmkit_seg_unlink_address(address)) < 0)
		ret = -1;
	return ret;
}

/*
 * The peer: after delay_ms, open the channel as its consumer and check
 * messages from..count-1 in order, then exit 0; at message die_at (if
 * below count), die of SIGKILL holding it. Any message missing, out of
 * order or torn, or a wait longer than timeout_ms, is reported and exits
 * 1.
 */
int
demo_chan_peer(const char *address, unsigned long from, unsigned long count,
	       unsigned long die_at, long delay_ms, long timeout_ms)
{
	const struct timespec to = ms_to_ts(timeout_ms);
	shmkit_chan_t *ch;
	const void *msg;
	uint64_t seq;
	size_t len;
	int rc;

	if (delay_ms > 0)
		demo_sleep_ms(delay_ms);
	rc = shmkit_chan_open(&ch, address,
			      SHMKIT_CHAN_CONSUMER | SHMKIT_CHAN_WAIT_ADAPTIVE);
	if (rc < 0) {
		cli_error(PEER_CMD, address, rc);
		return CLI_EXIT_FAIL;
	}
	for (seq = from; seq < count; seq++) {
		rc = shmkit_chan_peek(ch, &msg, &len, &to, 0);
		if (rc < 0)
			goto fail;
		if (rc > 0) {
			cli_errorf(PEER_CMD, "%s: %d lost before message %llu",
				   address, rc, (unsigned long long)seq);
			goto out;
		}
		if (len != CHAN_MSG || check(msg, seq) < 0) {
			cli_errorf(PEER_CMD,
				   "%s: message %llu (%zu bytes) is not the "
				   "one sent",
				   address, (unsigned long long)seq, len);
			goto out;
		}
		/* A crash, not an exit: no handler, no close, the message
		 * still held. */
		if (seq == die_at)
			raise(SIGKILL);
		rc = shmkit_chan_release(ch);
		if (rc < 0)
			goto fail;
	}
	shmkit_chan_close(ch);
	return CLI_EXIT_OK;
fail:
	cli_errorf(PEER_CMD, "%s: message %llu: %s", address,
		   (unsigned long long)seq, shmkit_strerror(rc));
out:
	shmkit_chan_close(ch);
	return CLI_EXIT_FAIL;
}
