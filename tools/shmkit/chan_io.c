/*
 * shmkit chan send and shmkit chan recv: messages between the shell and a
 * channel. Both may wait a long time, so both end cleanly on SIGINT,
 * SIGTERM and SIGHUP: the wait is interrupted (SHMKIT_WAIT_INTR), the
 * handle closed, which unregisters the peer and gives back a message
 * being written out, and then the command dies of the same signal.
 * SIGPIPE too ("shmkit chan recv /c | head -1"): the write fails with
 * EPIPE instead of killing the command before it unregisters; a waiting
 * recv also looks between two pieces of its wait (below) for a reader
 * that has gone, so that it need not wait for a message to find out.
 * SHMKIT_WAIT_INTR ends a wait only when the handler runs while the
 * library sleeps in the kernel; one that runs while it spins, or between
 * two sleeps, only sets the flag. So every wait here is made in pieces of
 * at most STOP_CHECK_NS, and the flag is checked between them: a stop
 * signal ends the command within that time wherever it lands. The
 * handler is one-shot (SA_RESETHAND): a second signal kills the command
 * at once, and the channel reaps it as a dead peer. A signal the command
 * was started with ignored (nohup) stays ignored.
 *
 * Reads of the input and writes of the output block in the kernel too,
 * and a signal handled just before one of them starts, after the flag
 * was checked, does not interrupt it. So the handler also arms alarm(2),
 * and SIGALRM re-arms itself: every STOP_REKICK_S from the stop signal
 * on, a SIGALRM interrupts whatever call blocks (no SA_RESTART from then
 * on: it fails with EINTR), and its caller, seeing the flag, stops.
 * tests/cli/chan_stop_race.sh lands the signal in that gap on purpose.
 * A SIGALRM someone else sends before that restarts what it interrupts
 * (SA_RESTART), so the command handles it and goes on: "alarm, then
 * exec" cannot time it out; --timeout or timeout(1) can.
 *
 * recv writes a message out while it is still peeked and releases it
 * only once written, so a failed write (a closed pipe) leaves it in the
 * channel for the next receiver. On an overwriting broadcast channel the
 * publisher may rewrite a peeked message, so there it copies first
 * (shmkit_chan_recv()) and never prints a torn one.
 */
#include "chan_cmd.h"
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <shmkit/shmkit.h>

/* The longest piece of a wait: how late a stop signal may be acted on. */
#define STOP_CHECK_NS 100000000L
/* How late it may be acted on when it landed just before a blocking read
 * or write: alarm(2) counts in seconds. */
#define STOP_REKICK_S 1u

static volatile sig_atomic_t stop_signal;
/* SIGALRM's action once a stop signal came: on_rekick(), without
 * SA_RESTART, so that the call it interrupts fails with EINTR. Until
 * then it has SA_RESTART: a SIGALRM sent by someone else changes
 * nothing (reads and writes go on; a wait returns early and is made
 * again). */
static struct sigaction rekick_stop;

/* sigaction(2) and alarm(2) are async-signal-safe. */
static void
on_stop(int sig)
{
	int saved = errno;

	stop_signal = sig;
	sigaction(SIGALRM, &rekick_stop, NULL);
	alarm(STOP_REKICK_S);
	errno = saved;
}

static void
on_rekick(int sig)
{
	(void)sig;
	if (stop_signal)
		alarm(STOP_REKICK_S);
}

static void
catch_stop_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE };
	struct sigaction sa;
	sigset_t alarm_only;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sa.sa_flags = SA_RESETHAND; /* no SA_RESTART: reads and waits end */
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction old;

		/* A signal ignored on entry stays ignored: "nohup shmkit chan
		 * recv ... &" must outlive the terminal. */
		if (sigaction(sigs[i], NULL, &old) == 0 &&
		    old.sa_handler == SIG_IGN)
			continue;
		sigaction(sigs[i], &sa, NULL);
	}
	/* Ours alone, whatever it was on entry, and not blocked: only
	 * on_stop() arms it. */
	sa.sa_handler = on_rekick;
	sa.sa_flags = 0;
	rekick_stop = sa;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	sigemptyset(&alarm_only);
	sigaddset(&alarm_only, SIGALRM);
	sigprocmask(SIG_UNBLOCK, &alarm_only, NULL);
}

/* After a stop signal: close the handle, then die of the signal. Never
 * returns: with the signal blocked (a parent's mask), as if it had. */
static void __attribute__((noreturn))
stop_now(shmkit_chan_t *ch)
{
	shmkit_chan_close(ch);
	fflush(stdout);
	raise(stop_signal); /* the default action: SA_RESETHAND */
	signal(stop_signal, SIG_DFL);
	raise(stop_signal);
	_exit(128 + stop_signal);
}

/* A wait for one message, or room for one, on CLOCK_MONOTONIC. */
struct wait_plan {
	int forever;
	struct timespec deadline;
};

static void
ts_add_ns(struct timespec *ts, time_t sec, long nsec)
{
	ts->tv_sec += sec;
	ts->tv_nsec += nsec;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* timeout: relative, or NULL for as long as it takes. */
static void
wait_plan_start(struct wait_plan *w, const struct timespec *timeout)
{
	clock_gettime(CLOCK_MONOTONIC, &w->deadline);
	w->forever = timeout == NULL;
	if (!w->forever)
		ts_add_ns(&w->deadline, timeout->tv_sec, timeout->tv_nsec);
}

/* The absolute deadline of the next piece of the wait, at most
 * STOP_CHECK_NS away; *last says it is the plan's own deadline. */
static struct timespec
wait_plan_piece(const struct wait_plan *w, int *last)
{
	struct timespec piece;

	clock_gettime(CLOCK_MONOTONIC, &piece);
	ts_add_ns(&piece, 0, STOP_CHECK_NS);
	*last = !w->forever && (w->deadline.tv_sec < piece.tv_sec ||
				(w->deadline.tv_sec == piece.tv_sec &&
				 w->deadline.tv_nsec <= piece.tv_nsec));
	return *last ? w->deadline : piece;
}

static void
send_usage(void)
{
	printf("Usage: shmkit chan send ADDRESS [OPTIONS] [MESSAGE...]\n\n"
	       "Send messages into the channel at ADDRESS: each MESSAGE\n"
	       "argument is one message; with none, each line of standard\n"
	       "input (without its newline) is one; each --file is one whole\n"
	       "message, byte for byte. A message may be as long as the\n"
	       "channel's msg-max. Put '--' before messages that start with\n"
	       "'-'.\n\n"
	       "Options:\n"
	       "  -f, --file FILE     send FILE's bytes as one message ('-'\n"
	       "                      is standard input); may repeat\n"
	       "  -z, --null          lines of standard input end with a NUL\n"
	       "                      byte, not a newline\n"
	       "  -t, --timeout SEC   wait at most SEC seconds (e.g. 0.5) for\n"
	       "                      room for each message (default: as\n"
	       "                      long as it takes)\n"
	       "      --nonblock      fail at once when the channel is full\n"
	       "  -h, --help          this help\n\n"
	       "Exit status 1 when a message could not be sent; the ones\n"
	       "before it were.\n\n"
	       "Examples:\n"
	       "  shmkit chan send /jobs 'resize a.png' 'resize b.png'\n"
	       "  tail -f app.log | shmkit chan send /log\n"
	       "  shmkit chan send /frames --file frame.bin --timeout 2\n");
}

static void
recv_usage(void)
{
	printf("Usage: shmkit chan recv ADDRESS [OPTIONS]\n\n"
	       "Receive messages from the channel at ADDRESS and write each\n"
	       "to standard output, followed by a newline. Without -n or\n"
	       "--follow, one message. On a broadcast channel, messages sent\n"
	       "from the moment recv starts are received; messages lost to\n"
	       "an overwriting sender are counted on standard error.\n\n"
	       "Options:\n"
	       "  -n, --count N       receive N messages\n"
	       "  -f, --follow        receive until interrupted\n"
	       "  -t, --timeout SEC   wait at most SEC seconds (e.g. 0.5) for\n"
	       "                      each message, and fail if none comes;\n"
	       "                      with --follow, stop successfully after\n"
	       "                      SEC seconds without a message\n"
	       "      --nonblock      do not wait: take only messages already\n"
	       "                      there\n"
	       "  -r, --raw           write the bytes only, nothing after each\n"
	       "                      message (binary-safe)\n"
	       "  -z, --null          end each message with a NUL byte\n"
	       "  -h, --help          this help\n\n"
	       "Examples:\n"
	       "  shmkit chan recv /jobs\n"
	       "  shmkit chan recv /log --follow\n"
	       "  shmkit chan recv /frames --raw --timeout 5 >frame.bin\n"
	       "  shmkit chan recv /jobs -n 10 --timeout 1\n");
}

/* Reads all of f, up to max bytes (one more tells it is too long). */
static int
read_all(FILE *f, size_t max, char **out, size_t *len)
{
	size_t cap = max < 65536 ? max + 1 : 65536, n = 0;
	char *buf = malloc(cap), *nb;

	if (buf == NULL)
		return -ENOMEM;
	for (;;) {
		size_t r;

		if (n == cap) {
			if (cap > max) /* already read one byte too many */
				break;
			cap = cap > max / 2 ? max + 1 : cap * 2;
			nb = realloc(buf, cap);
			if (nb == NULL) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
		}
		r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0 || n < cap) {
			if (ferror(f)) {
				int err = errno ? -errno : -EIO;

				free(buf);
				return err;
			}
			if (feof(f))
				break;
		}
	}
	*out = buf;
	*len = n;
	return 0;
}

struct sender {
	shmkit_chan_t *ch;
	const char *address;
	const struct timespec *timeout;
	unsigned flags;
	size_t msg_max;
	unsigned long sent;
};

/* Sends one message; reports a failure and returns -1. more: another
 * message follows at once (SHMKIT_CHAN_MORE: the channel may hand them
 * over together; the last one, or the close, publishes them). */
static int
send_one(struct sender *s, const void *msg, size_t len, const char *what,
	 unsigned more)
{
	struct wait_plan w;
	struct timespec piece;
	int rc, last;

	if (stop_signal)
		stop_now(s->ch);
	if (len > s->msg_max) {
		cli_errorf("chan send", "%s: %s is longer than the channel's "
					"msg-max of %zu bytes (%lu sent)",
			   s->address, what, s->msg_max, s->sent);
		return -1;
	}
	wait_plan_start(&w, s->timeout);
	do {
		piece = wait_plan_piece(&w, &last);
		rc = shmkit_chan_send(s->ch, msg, len, &piece,
				      s->flags | SHMKIT_WAIT_ABSTIME | more);
	} while (((rc == -ETIMEDOUT && !last) || rc == -EINTR) && !stop_signal);
	if ((rc == -EINTR || rc == -ETIMEDOUT) && stop_signal)
		stop_now(s->ch);
	if (rc == -EAGAIN || rc == -ETIMEDOUT) {
		cli_errorf("chan send", "%s: channel full%s (%lu sent)",
			   s->address, rc == -ETIMEDOUT ? ", timed out" : "",
			   s->sent);
		return -1;
	}
	if (rc < 0) {
		chan_report("chan send", s->address, rc);
		return -1;
	}
	s->sent++;
	return 0;
}

static int
send_file(struct sender *s, const char *path, unsigned more)
{
	int is_stdin = strcmp(path, "-") == 0, rc;
	FILE *f = is_stdin ? stdin : fopen(path, "rbe");
	size_t len = 0;
	char *buf = NULL;

	if (f == NULL) {
		if (stop_signal) /* while opening a FIFO nobody writes to */
			stop_now(s->ch);
		cli_errorf("chan send", "%s: %s", path,
			   shmkit_strerror(-errno));
		return -1;
	}
	rc = read_all(f, s->msg_max, &buf, &len);
	if (!is_stdin)
		fclose(f);
	if (rc < 0) {
		if (stop_signal)
			stop_now(s->ch);
		cli_errorf("chan send", "%s: %s", path, shmkit_strerror(rc));
		return -1;
	}
	rc = send_one(s, buf, len, path, more);
	free(buf);
	return rc;
}

/* Lines of standard input, one message each: those already read go as
 * a batch (SHMKIT_CHAN_MORE but the last), one that is still coming as
 * it comes. */
static int
send_lines(struct sender *s, int delim)
{
	struct line_reader r;
	const char *line;
	size_t len;
	int rc, more;

	line_reader_init(&r, STDIN_FILENO, delim, s->msg_max);
	for (;;) {
		rc = line_reader_next(&r, &line, &len, &more);
		if (rc == -EINTR && !stop_signal)
			continue;
		if (rc == 0)
			break;
		if (rc == 1) {
			rc = send_one(s, line, len, "a line",
				      more ? SHMKIT_CHAN_MORE : 0);
			if (rc < 0)
				break;
			continue;
		}
		if (rc == -EMSGSIZE) {
			/* send_one() reports a line too long; the send ends
			 * there whatever it says. */
			send_one(s, line, len, "a line", 0);
			rc = -1;
			break;
		}
		if (stop_signal)
			stop_now(s->ch);
		cli_errorf("chan send", "standard input: %s",
			   shmkit_strerror(rc));
		rc = -1;
		break;
	}
	line_reader_free(&r);
	return rc < 0 ? -1 : 0;
}

int
chan_send(int argc, char **argv)
{
	enum { OPT_NONBLOCK = 0x100 };
	static const struct option longopts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "null", no_argument, NULL, 'z' },
		{ "timeout", required_argument, NULL, 't' },
		{ "nonblock", no_argument, NULL, OPT_NONBLOCK },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = "chan send";
	struct sender s = { .flags = SHMKIT_WAIT_INTR };
	shmkit_chan_info_t info;
	struct timespec timeout;
	int c, i, rc, nargs, nfiles = 0, delim = '\n';
	char **files;

	/* --file names are kept in argv order, in a list as long as argv. */
	files = calloc((size_t)argc, sizeof(*files));
	if (files == NULL) {
		cli_error(cmd, NULL, -ENOMEM);
		return CLI_EXIT_FAIL;
	}
	rc = CLI_EXIT_USAGE;
	while ((c = getopt_long(argc, argv, ":f:zt:h", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'f':
			files[nfiles++] = optarg;
			break;
		case 'z':
			delim = '\0';
			break;
		case 't':
			if (chan_parse_seconds(cmd, "--timeout", optarg,
					       &timeout) < 0)
				goto out;
			s.timeout = &timeout;
			break;
		case OPT_NONBLOCK:
			s.flags |= SHMKIT_CHAN_NONBLOCK;
			break;
		case 'h':
			send_usage();
			rc = CLI_EXIT_OK;
			goto out;
		default:
			cli_getopt_error(cmd, c, argv);
			goto out;
		}
	}
	if (optind == argc) {
		cli_usage_error(cmd, "missing ADDRESS");
		goto out;
	}
	if (nfiles > 0 && optind + 1 < argc) {
		cli_usage_error(cmd, "give messages as arguments or as --file, "
				     "not both");
		goto out;
	}
	s.address = argv[optind++];
	nargs = argc - optind;
	rc = shmkit_chan_open(&s.ch, s.address, SHMKIT_CHAN_PRODUCER);
	if (rc == 0)
		rc = shmkit_chan_info(s.ch, &info);
	if (rc < 0) {
		chan_report_open(cmd, s.address, SHMKIT_CHAN_PRODUCER, rc);
		shmkit_chan_close(s.ch);
		rc = CLI_EXIT_FAIL;
		goto out;
	}
	s.msg_max = info.msg_max;
	catch_stop_signals();
	rc = 0;
	/* Arguments and files are all there: each but the last goes with
	 * SHMKIT_CHAN_MORE. */
	for (i = 0; i < nfiles && rc == 0; i++)
		rc = send_file(&s, files[i],
			       i + 1 < nfiles ? SHMKIT_CHAN_MORE : 0);
	for (; optind < argc && rc == 0; optind++) {
		char what[32];

		snprintf(what, sizeof(what), "message %lu", s.sent + 1);
		rc = send_one(&s, argv[optind], strlen(argv[optind]), what,
			      optind + 1 < argc ? SHMKIT_CHAN_MORE : 0);
	}
	if (nfiles == 0 && nargs == 0)
		rc = send_lines(&s, delim);
	shmkit_chan_close(s.ch);
	rc = rc < 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
out:
	free(files);
	return rc;
}

struct receiver {
	shmkit_chan_t *ch;
	const char *address;
	const struct timespec *timeout;
	unsigned flags;
	int copy;       /* overwriting broadcast: copy, then write */
	int end;        /* byte after each message, or -1 */
	char *buf;      /* copy mode */
	size_t cap;
};

/* Writes one message and its terminator; 0 or -1 (reported). */
static int
write_msg(struct receiver *r, const void *msg, size_t len)
{
	if ((len > 0 && fwrite(msg, 1, len, stdout) != len) ||
	    (r->end >= 0 && putchar(r->end) == EOF) || fflush(stdout) != 0) {
		/* A closed pipe: give the message back, then die of SIGPIPE
		 * as a filter does, without a word. */
		if (stop_signal)
			stop_now(r->ch);
		cli_errorf("chan recv", "cannot write to standard output: %s",
			   cli_stdout_error(errno ? -errno : -EIO));
		return -1;
	}
	return 0;
}

/*
 * Has the reader of our standard output gone ("recv --follow | head -1"
 * once head has exited)? A pipe's write end polls POLLERR then. Checked
 * between two pieces of a wait, so that an idle recv notices within a
 * piece, not only at its next message.
 */
static int
output_gone(void)
{
	struct pollfd p = {.fd = STDOUT_FILENO, .events = 0};

	return poll(&p, 1, 0) == 1 && (p.revents & POLLERR);
}

/* The reader has gone: end as a failed write would (write_msg()). */
static int
reader_gone(struct receiver *r)
{
	struct sigaction sa;

	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == on_stop) {
		stop_signal = SIGPIPE;
		stop_now(r->ch);
	}
	cli_errorf("chan recv", "cannot write to standard output: %s",
		   shmkit_strerror(-EPIPE));
	return -1;
}

/*
 * Receives and writes one message. Returns 1 done, 0 nothing came (timed
 * out or empty), -1 on a failure it reported.
 */
static int
recv_one(struct receiver *r)
{
	unsigned flags = r->flags | SHMKIT_WAIT_ABSTIME;
	struct wait_plan w;
	struct timespec piece;
	const void *msg;
	size_t len;
	int rc, last;

	if (stop_signal)
		stop_now(r->ch);
	wait_plan_start(&w, r->timeout);
	for (;;) {
		piece = wait_plan_piece(&w, &last);
		if (r->copy)
			rc = shmkit_chan_recv(r->ch, r->buf, r->cap, &len,
					      &piece, flags);
		else
			rc = shmkit_chan_peek(r->ch, &msg, &len, &piece, flags);
		if (rc == -ETIMEDOUT && !last && !stop_signal) {
			if (output_gone())
				return reader_gone(r);
			continue;
		}
		if (rc == -EINTR && !stop_signal)
			continue;
		if (rc != -EMSGSIZE)
			break;
		/* Copy mode, a message longer than the buffer: grow. */
		free(r->buf);
		r->cap = len;
		r->buf = malloc(len ? len : 1);
		if (r->buf == NULL) {
			cli_error("chan recv", NULL, -ENOMEM);
			return -1;
		}
	}
	if ((rc == -EINTR || rc == -ETIMEDOUT) && stop_signal)
		stop_now(r->ch);
	if (rc == -EAGAIN || rc == -ETIMEDOUT)
		return 0;
	if (rc < 0) {
		chan_report("chan recv", r->address, rc);
		return -1;
	}
	if (rc > 0)
		cli_errorf("chan recv", "lost %d message%s", rc,
			   rc == 1 ? "" : "s");
	if (r->copy)
		return write_msg(r, r->buf, len) < 0 ? -1 : 1;
	if (write_msg(r, msg, len) < 0)
		return -1; /* closing the handle gives the message back */
	rc = shmkit_chan_release(r->ch);
	if (rc < 0) {
		chan_report("chan recv", r->address, rc);
		return -1;
	}
	return 1;
}

int
chan_recv(int argc, char **argv)
{
	enum { OPT_NONBLOCK = 0x100 };
	static const struct option longopts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "follow", no_argument, NULL, 'f' },
		{ "timeout", required_argument, NULL, 't' },
		{ "nonblock", no_argument, NULL, OPT_NONBLOCK },
		{ "raw", no_argument, NULL, 'r' },
		{ "null", no_argument, NULL, 'z' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = "chan recv";
	struct receiver r = { .flags = SHMKIT_WAIT_INTR, .end = '\n' };
	shmkit_chan_info_t info;
	struct timespec timeout;
	long count = 1, got = 0;
	int c, rc, follow = 0, have_count = 0;

	while ((c = getopt_long(argc, argv, ":n:ft:rzh", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'n':
			count = cli_parse_range(cmd, "--count", optarg, 1,
						LONG_MAX);
			if (count < 0)
				return CLI_EXIT_USAGE;
			have_count = 1;
			break;
		case 'f':
			follow = 1;
			break;
		case 't':
			if (chan_parse_seconds(cmd, "--timeout", optarg,
					       &timeout) < 0)
				return CLI_EXIT_USAGE;
			r.timeout = &timeout;
			break;
		case OPT_NONBLOCK:
			r.flags |= SHMKIT_CHAN_NONBLOCK;
			break;
		case 'r':
			r.end = -1;
			break;
		case 'z':
			r.end = '\0';
			break;
		case 'h':
			recv_usage();
			return CLI_EXIT_OK;
		default:
			return cli_getopt_error(cmd, c, argv);
		}
	}
	if (chan_one_address(cmd, argc) != 0)
		return CLI_EXIT_USAGE;
	if (follow && have_count)
		return cli_usage_error(cmd, "--count or --follow, not both");
	r.address = argv[optind];
	rc = shmkit_chan_open(&r.ch, r.address, SHMKIT_CHAN_CONSUMER);
	if (rc == 0)
		rc = shmkit_chan_info(r.ch, &info);
	if (rc < 0) {
		chan_report_open(cmd, r.address, SHMKIT_CHAN_CONSUMER, rc);
		shmkit_chan_close(r.ch);
		return CLI_EXIT_FAIL;
	}
	r.copy = info.policy == SHMKIT_CHAN_FULL_OVERWRITE;
	if (r.copy) {
		r.cap = info.msg_max < 65536 ? info.msg_max : 65536;
		r.buf = malloc(r.cap ? r.cap : 1);
		if (r.buf == NULL) {
			cli_error(cmd, NULL, -ENOMEM);
			shmkit_chan_close(r.ch);
			return CLI_EXIT_FAIL;
		}
	}
	catch_stop_signals();
	rc = 1;
	while ((follow || got < count) && (rc = recv_one(&r)) == 1)
		got++;
	shmkit_chan_close(r.ch);
	free(r.buf);
	if (rc < 0)
		return CLI_EXIT_FAIL;
	if (rc == 0 && !follow) {
		if (r.flags & SHMKIT_CHAN_NONBLOCK)
			cli_errorf(cmd, "%s: no message waiting (%ld of %ld "
					"received)",
				   r.address, got, count);
		else
			cli_errorf(cmd, "%s: timed out waiting for a message "
					"(%ld of %ld received)",
				   r.address, got, count);
		return CLI_EXIT_FAIL;
	}
	return CLI_EXIT_OK;
}
