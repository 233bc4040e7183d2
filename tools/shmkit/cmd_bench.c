/*
 * cmd_bench.c: "shmkit bench", the measured answer to "which IPC should
 * I use?".
 *
 * Holds the mechanism table (one row per mechanism), parses the options, runs every selected
 * mechanism at every selected size through bench_measure(), derives the
 * ratios to the baselines measured in the same run (the cache-line floor,
 * memcpy and a pipe), runs the selected synchronisation comparisons
 * (bench_sync.c) and hands the results to bench_output.c.
 */
#include "bench.h"
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <shmkit/addr.h>

#define SHM_FUTEX BENCH_WAIT_FUTEX

const struct bench_mech bench_mechs[] = {
	{ "floor", "one cache line handed back and forth in shared memory "
		   "(the hardware floor)", BENCH_FLOOR, &bench_floor_ops, 0 },
	{ "memcpy", "memcpy in one process (the bandwidth ceiling)",
	  BENCH_LOCAL, NULL, 0 },
	{ "pipe", "pipe(2), one per direction", BENCH_PAYLOAD,
	  &bench_pipe_ops, 0 },
	{ "fifo", "named pipe (mkfifo(3)), one per direction", BENCH_PAYLOAD,
	  &bench_fifo_ops, 0 },
	{ "unix-stream", "unix domain socket pair, SOCK_STREAM",
	  BENCH_PAYLOAD, &bench_socket_ops, SOCK_STREAM },
	{ "unix-dgram", "unix domain socket pair, SOCK_DGRAM", BENCH_PAYLOAD,
	  &bench_socket_ops, SOCK_DGRAM },
	{ "unix-seqpacket", "unix domain socket pair, SOCK_SEQPACKET",
	  BENCH_PAYLOAD, &bench_socket_ops, SOCK_SEQPACKET },
	{ "tcp", "TCP over 127.0.0.1, TCP_NODELAY", BENCH_PAYLOAD,
	  &bench_tcp_ops, SOCK_STREAM },
	{ "posix-mq", "POSIX message queues (mq_send/mq_receive)",
	  BENCH_PAYLOAD, &bench_posix_mq_ops, 0 },
	{ "sysv-msg", "System V message queue (msgsnd/msgrcv)",
	  BENCH_PAYLOAD, &bench_sysv_msg_ops, 0 },
	{ "signal", "real-time signal, sigqueue + sigwaitinfo (no payload)",
	  BENCH_TOKEN, &bench_signal_ops, 0 },
	{ "eventfd", "eventfd(2), one per direction (no payload)",
	  BENCH_TOKEN, &bench_eventfd_ops, 0 },
	{ "shm-sysv", "shmkit System V segment, ring buffers, busy-poll",
	  BENCH_PAYLOAD, &bench_shm_ops, SHMKIT_BACKEND_SYSV },
	{ "shm-posix", "shmkit POSIX segment, ring buffers, busy-poll",
	  BENCH_PAYLOAD, &bench_shm_ops, SHMKIT_BACKEND_POSIX },
	{ "shm-file", "shmkit file segment ($TMPDIR), ring buffers, busy-poll",
	  BENCH_PAYLOAD, &bench_shm_ops, SHMKIT_BACKEND_FILE },
	{ "shm-memfd", "shmkit memfd segment, ring buffers, busy-poll",
	  BENCH_PAYLOAD, &bench_shm_ops, SHMKIT_BACKEND_MEMFD },
	{ "shm-futex", "shmkit POSIX segment, ring buffers, futex wake-ups "
		       "(blocking)", BENCH_PAYLOAD, &bench_shm_ops,
	  SHMKIT_BACKEND_POSIX | SHM_FUTEX },
	{ "chan-sysv", "shmkit SPSC channels, System V segments, zero-copy, "
		       "busy-poll", BENCH_ZEROCOPY, &bench_chan_ops,
	  SHMKIT_BACKEND_SYSV },
	{ "chan-posix", "shmkit SPSC channels, POSIX segments, zero-copy, "
			"busy-poll", BENCH_ZEROCOPY, &bench_chan_ops,
	  SHMKIT_BACKEND_POSIX },
	{ "chan-file", "shmkit SPSC channels, file segments ($TMPDIR), "
		       "zero-copy, busy-poll", BENCH_ZEROCOPY, &bench_chan_ops,
	  SHMKIT_BACKEND_FILE },
	{ "chan-memfd", "shmkit SPSC channels, memfd segments, zero-copy, "
			"busy-poll", BENCH_ZEROCOPY, &bench_chan_ops,
	  SHMKIT_BACKEND_MEMFD },
	{ "chan-posix-more", "shmkit SPSC channels, POSIX segments, "
			     "zero-copy, busy-poll, stream in batches "
			     "(SHMKIT_CHAN_MORE)", BENCH_ZEROCOPY,
	  &bench_chan_ops, SHMKIT_BACKEND_POSIX | BENCH_MORE },
	{ "chan-posix-adaptive", "shmkit SPSC channels, POSIX segments, "
				 "zero-copy, spin then sleep (adaptive)",
	  BENCH_ZEROCOPY, &bench_chan_ops,
	  SHMKIT_BACKEND_POSIX | BENCH_WAIT_ADAPTIVE },
	{ "chan-posix-block", "shmkit SPSC channels, POSIX segments, "
			      "zero-copy, futex sleep (blocking)",
	  BENCH_ZEROCOPY, &bench_chan_ops,
	  SHMKIT_BACKEND_POSIX | BENCH_WAIT_BLOCK },
	{ "mutex", "shmkit mutex, uncontended lock+unlock, vs a private "
		   "pthread mutex", BENCH_SYNC, NULL, BENCH_SYNC_MUTEX },
	{ "event", "shmkit event wake-up round trip between processes, vs "
		   "a pipe", BENCH_SYNC, NULL, BENCH_SYNC_EVENT },
};

const size_t bench_nmechs = sizeof(bench_mechs) / sizeof(bench_mechs[0]);

/* Measured whatever --only says: every ratio needs them. */
static int
is_baseline(const struct bench_mech *m)
{
	return strcmp(m->name, "floor") == 0 ||
	       strcmp(m->name, "memcpy") == 0 || strcmp(m->name, "pipe") == 0;
}

static const size_t default_sizes[] = { 64, 1024, 16384, 262144, 4194304 };
static const size_t quick_sizes[] = { 64, 65536, 4194304 };

#define MIN_SIZE 8
#define MAX_SIZE ((size_t)64 << 20)

static void
usage(void)
{
	printf("Usage: %s %s [OPTIONS]\n\n", CLI_PROGRAM, BENCH_CMD);
	printf("Measure IPC mechanisms side by side between two processes "
	       "pinned to\ndifferent CPUs: round-trip latency percentiles "
	       "and one-way throughput,\nfor each message size, with ratios "
	       "to a cache-line ping-pong (the floor)\nand to a pipe "
	       "measured in the same run.\n\n");
	printf("Options:\n");
	printf("  -s, --sizes LIST      message sizes, e.g. 64,4K,1M "
	       "(default 64,1K,16K,256K,4M)\n");
	printf("  -m, --only LIST       only these mechanisms "
	       "(floor, memcpy and pipe always run)\n");
	printf("  -l, --list            list the mechanisms and exit\n");
	printf("  -q, --quick           a run of a few seconds: "
	       "sizes 64,64K,4M, shorter phases\n");
	printf("  -n, --iterations N    latency round trips per size "
	       "(default 20000, quick 2000)\n");
	printf("  -w, --warmup N        round trips before measuring "
	       "(default 200, quick 50)\n");
	printf("  -d, --duration T      seconds per throughput run and "
	       "latency cap, e.g. 0.2, 50ms\n");
	printf("                        (default 0.2, quick 0.03)\n");
	printf("      --json            JSON output\n");
	printf("      --csv             CSV output\n");
	printf("  -p, --plot FILE       also plot to FILE (.svg or .png; "
	       "needs gnuplot)\n");
	printf("      --progress        progress on stderr even when it is "
	       "not a terminal\n");
	printf("      --no-pin          do not pin the processes to CPUs\n");
	printf("  -h, --help            print this help and exit\n");
	printf("\nExit status: 0 all measured, 1 a mechanism failed, "
	       "2 usage error.\nSee shmkit-bench(1) on how to read the "
	       "numbers.\n");
}

static void
list(void)
{
	size_t i;

	printf("%-20s %s\n", "MECHANISM", "DESCRIPTION");
	for (i = 0; i < bench_nmechs; i++)
		printf("%-20s %s\n", bench_mechs[i].name, bench_mechs[i].what);
}

static const struct bench_mech *
find_mech(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < bench_nmechs; i++)
		if (strlen(bench_mechs[i].name) == len &&
		    strncmp(bench_mechs[i].name, name, len) == 0)
			return &bench_mechs[i];
	return NULL;
}

static int
parse_only(const char *text, unsigned char *sel)
{
	const char *p = text, *e;
	const struct bench_mech *m;
	size_t len;

	memset(sel, 0, bench_nmechs);
	for (;;) {
		e = strchr(p, ',');
		len = e != NULL ? (size_t)(e - p) : strlen(p);
		m = find_mech(p, len);
		if (m == NULL)
			return cli_usage_error(BENCH_CMD,
					       "--only: unknown mechanism '%.*s' "
					       "(see '%s %s --list')",
					       (int)len, p, CLI_PROGRAM,
					       BENCH_CMD);
		sel[m - bench_mechs] = 1;
		if (e == NULL)
			return 0;
		p = e + 1;
	}
}

static int
cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

static int
parse_sizes(const char *text, struct bench_opts *o)
{
	const char *p = text;
	unsigned long long v;
	char *end;
	int i, n = 0;

	for (;;) {
		if (*p < '0' || *p > '9')
			goto bad;
		errno = 0;
		v = strtoull(p, &end, 10);
		if (errno != 0)
			goto bad;
		if (*end == 'k' || *end == 'K') {
			v <<= 10;
			end++;
		} else if (*end == 'm' || *end == 'M') {
			v <<= 20;
			end++;
		}
		if (strncmp(end, "iB", 2) == 0)
			end += 2;
		if (v < MIN_SIZE || v > MAX_SIZE || (*end != ',' && *end))
			goto bad;
		if (n == (int)(sizeof(o->sizes) / sizeof(o->sizes[0])))
			return cli_usage_error(BENCH_CMD,
					       "--sizes: at most %d sizes", n);
		o->sizes[n++] = (size_t)v;
		if (*end == '\0')
			break;
		p = end + 1;
	}
	qsort(o->sizes, (size_t)n, sizeof(o->sizes[0]), cmp_size);
	o->nsizes = 0;
	for (i = 0; i < n; i++)
		if (o->nsizes == 0 || o->sizes[o->nsizes - 1] != o->sizes[i])
			o->sizes[o->nsizes++] = o->sizes[i];
	return 0;
bad:
	return cli_usage_error(BENCH_CMD,
			       "--sizes: '%s' is not a list of sizes from %d "
			       "bytes to 64M, like 64,4K,1M", text, MIN_SIZE);
}

static int
parse_duration(const char *text, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(text, &end);
	if (end == text || errno != 0)
		goto bad;
	if (strcmp(end, "ms") == 0)
		v /= 1000;
	else if (strcmp(end, "s") != 0 && *end != '\0')
		goto bad;
	if (!(v >= 0.001 && v <= 60))
		goto bad;
	*out = v;
	return 0;
bad:
	return cli_usage_error(BENCH_CMD,
			       "--duration: '%s' is not a time from 1ms to "
			       "60s, like 0.2 or 50ms", text);
}

/* The result of mechanism name at size, or at its smallest measured size
 * when size has none (size 0 rows, or a size the baseline cannot do). */
static const struct bench_result *
baseline(const struct bench_result *r, size_t n, const char *name,
	 size_t size)
{
	const struct bench_result *any = NULL;
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(r[i].mech->name, name) != 0 ||
		    r[i].status != BENCH_OK)
			continue;
		if (r[i].size == size)
			return &r[i];
		if (any == NULL)
			any = &r[i];
	}
	return any;
}

static void
ratios(struct bench_result *r, size_t n)
{
	const struct bench_result *fl, *pi, *mc;
	size_t i;

	fl = baseline(r, n, "floor", 64);
	for (i = 0; i < n; i++) {
		if (r[i].status != BENCH_OK)
			continue;
		pi = baseline(r, n, "pipe", r[i].size);
		mc = r[i].bytes > 0 ? baseline(r, n, "memcpy", r[i].size)
				    : NULL;
		if (fl != NULL)
			r[i].lat_floor = r[i].lat[BENCH_P50] /
					 fl->lat[BENCH_P50];
		if (pi != NULL) {
			r[i].lat_pipe = r[i].lat[BENCH_P50] /
					pi->lat[BENCH_P50];
			r[i].tput_pipe = r[i].msgs / pi->msgs;
		}
		if (mc != NULL && mc->size == r[i].size)
			r[i].tput_memcpy = r[i].bytes / mc->bytes;
	}
}

static void
progress(int mode, size_t done, size_t total, const struct bench_mech *m,
	 size_t size)
{
	char sz[BENCH_SIZE_STR];

	if (mode == 0)
		return;
	if (m == NULL) {
		if (mode == 1)
			fprintf(stderr, "\r\033[K");
		return;
	}
	bench_fmt_size(sz, sizeof(sz), size);
	fprintf(stderr, "%s%s %s: [%zu/%zu] %s%s%s%s%s",
		mode == 1 ? "\r\033[K" : "", CLI_PROGRAM, BENCH_CMD, done + 1,
		total, m->name, m->kind == BENCH_SYNC ? "" : ", ",
		m->kind == BENCH_SYNC ? "" : sz,
		m->kind == BENCH_SYNC ? "" : " bytes", mode == 1 ? "" : "\n");
	fflush(stderr);
}

/* The rows of mechanism m: its fixed size (floor, tokens) first, then
 * every requested size. */
static size_t
rows_of(const struct bench_mech *m, const struct bench_opts *o,
	size_t *sizes)
{
	size_t n = 0, fixed = 0;
	int i, has_fixed = 0;

	/* Measured apart, as one result each (bench_sync.c). */
	if (m->kind == BENCH_SYNC)
		return 0;
	if (m->kind == BENCH_FLOOR || m->kind == BENCH_TOKEN) {
		fixed = m->kind == BENCH_FLOOR ? 64 : 0;
		has_fixed = 1;
		sizes[n++] = fixed;
	}
	for (i = 0; i < o->nsizes; i++)
		if (!has_fixed || o->sizes[i] != fixed)
			sizes[n++] = o->sizes[i];
	return n;
}

static void
not_applicable(struct bench_result *r, const struct bench_mech *m,
	       size_t size)
{
	memset(r, 0, sizeof(*r));
	r->mech = m;
	r->size = size;
	r->status = BENCH_NA;
	snprintf(r->why, sizeof(r->why), "%s",
		 m->kind == BENCH_FLOOR ? "carries one cache line only"
					: "carries no payload (see size 0)");
}

int
cmd_bench(int argc, char **argv)
{
	enum { OPT_JSON = 256, OPT_CSV, OPT_PROGRESS, OPT_NO_PIN };
	static const struct option longopts[] = {
		{ "sizes", required_argument, NULL, 's' },
		{ "only", required_argument, NULL, 'm' },
		{ "list", no_argument, NULL, 'l' },
		{ "quick", no_argument, NULL, 'q' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "duration", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "csv", no_argument, NULL, OPT_CSV },
		{ "plot", required_argument, NULL, 'p' },
		{ "progress", no_argument, NULL, OPT_PROGRESS },
		{ "no-pin", no_argument, NULL, OPT_NO_PIN },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench_opts o;
	struct bench_machine mc;
	struct bench_result *res = NULL;
	struct bench_sync_result sres[sizeof(bench_mechs) /
				     sizeof(bench_mechs[0])];
	enum bench_format fmt = BENCH_TABLE;
	unsigned char sel[sizeof(bench_mechs) / sizeof(bench_mechs[0])];
	size_t sizes[40], nres = 0, nsres = 0, total = 0, done = 0, i, j, k,
	       n;
	const char *plot = NULL;
	long iters = -1, warm = -1, v;
	double duration = -1;
	int c, quick = 0, sizes_set = 0, status = CLI_EXIT_OK, pmode, sig;

	memset(&o, 0, sizeof(o));
	memset(sel, 1, sizeof(sel));
	o.pin = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":s:m:lqn:w:d:p:h", longopts,
				NULL)) != -1) {
		switch (c) {
		case 's':
			if (parse_sizes(optarg, &o) != 0)
				return CLI_EXIT_USAGE;
			sizes_set = 1;
			break;
		case 'm':
			if (parse_only(optarg, sel) != 0)
				return CLI_EXIT_USAGE;
			break;
		case 'l':
			list();
			return CLI_EXIT_OK;
		case 'q':
			quick = 1;
			break;
		case 'n':
			v = cli_parse_uint(BENCH_CMD, "--iterations", optarg,
					   10000000);
			if (v < 0)
				return CLI_EXIT_USAGE;
			if (v == 0)
				return cli_usage_error(BENCH_CMD,
						       "--iterations: must be "
						       "at least 1");
			iters = v;
			break;
		case 'w':
			warm = cli_parse_uint(BENCH_CMD, "--warmup", optarg,
					      1000000);
			if (warm < 0)
				return CLI_EXIT_USAGE;
			break;
		case 'd':
			if (parse_duration(optarg, &duration) != 0)
				return CLI_EXIT_USAGE;
			break;
		case OPT_JSON:
		case OPT_CSV:
			if (fmt != BENCH_TABLE)
				return cli_usage_error(BENCH_CMD,
						       "--json and --csv "
						       "exclude each other");
			fmt = c == OPT_JSON ? BENCH_JSON : BENCH_CSV;
			break;
		case 'p':
			plot = optarg;
			break;
		case OPT_PROGRESS:
			o.progress = 1;
			break;
		case OPT_NO_PIN:
			o.pin = 0;
			break;
		case 'h':
			usage();
			return CLI_EXIT_OK;
		default:
			return cli_getopt_error(BENCH_CMD, c, argv);
		}
	}
	if (optind < argc)
		return cli_usage_error(BENCH_CMD, "unexpected argument '%s'",
				       argv[optind]);
	if (plot != NULL) {
		const char *dot = strrchr(plot, '.');

		if (dot == NULL ||
		    (strcmp(dot, ".svg") != 0 && strcmp(dot, ".png") != 0))
			return cli_usage_error(BENCH_CMD,
					       "--plot: '%s' must end in .svg "
					       "or .png", plot);
		if (bench_plot_check() < 0) {
			cli_errorf(BENCH_CMD, "--plot needs gnuplot, which is "
				   "not installed (Debian: apt-get install "
				   "gnuplot-nox)");
			return CLI_EXIT_FAIL;
		}
	}
	if (!sizes_set) {
		const size_t *d = quick ? quick_sizes : default_sizes;

		o.nsizes = quick ? 3 : 5;
		memcpy(o.sizes, d, (size_t)o.nsizes * sizeof(*d));
	}
	o.iterations = iters >= 0 ? (unsigned long)iters : quick ? 2000 : 20000;
	o.warmup = warm >= 0 ? (unsigned long)warm : quick ? 50 : 200;
	o.duration = duration > 0 ? duration : quick ? 0.03 : 0.2;
	pmode = isatty(STDERR_FILENO) ? 1 : o.progress ? 2 : 0;

	for (i = 0; i < bench_nmechs; i++) {
		if (sel[i] || is_baseline(&bench_mechs[i]))
			total += rows_of(&bench_mechs[i], &o, sizes);
		if (sel[i] && bench_mechs[i].kind == BENCH_SYNC)
			total++;
	}
	res = calloc(total, sizeof(*res));
	if (res == NULL) {
		cli_error(BENCH_CMD, NULL, -ENOMEM);
		return CLI_EXIT_FAIL;
	}
	bench_machine_probe(&mc, o.pin);
	bench_signals_init();
	for (i = 0; i < bench_nmechs && !bench_interrupted(); i++) {
		const struct bench_mech *m = &bench_mechs[i];

		if (!sel[i] && !is_baseline(m))
			continue;
		n = rows_of(m, &o, sizes);
		for (j = 0; j < n && !bench_interrupted(); j++) {
			k = nres++;
			if ((m->kind == BENCH_FLOOR || m->kind == BENCH_TOKEN) &&
			    j > 0) {
				not_applicable(&res[k], m, sizes[j]);
				done++;
				continue;
			}
			progress(pmode, done++, total, m, sizes[j]);
			bench_measure(m, sizes[j], &o, &mc, &res[k]);
		}
	}
	for (i = 0; i < bench_nmechs && !bench_interrupted(); i++) {
		const struct bench_mech *m = &bench_mechs[i];

		if (!sel[i] || m->kind != BENCH_SYNC)
			continue;
		progress(pmode, done++, total, m, 0);
		bench_sync_measure(m, &o, &mc, &sres[nsres++]);
	}
	progress(pmode, 0, 0, NULL, 0);
	bench_signals_fini();
	sig = bench_interrupted();
	if (sig != 0) {
		/* Everything made is removed by now: die of the signal, as
		 * the shell expects of an interrupted command. */
		cli_errorf(BENCH_CMD, "interrupted");
		free(res);
		fflush(stdout);
		signal(sig, SIG_DFL);
		raise(sig);
		return CLI_EXIT_FAIL;
	}
	ratios(res, nres);
	for (i = 0; i < nres; i++) {
		char sz[BENCH_SIZE_STR];

		if (res[i].status != BENCH_FAILED)
			continue;
		bench_fmt_size(sz, sizeof(sz), res[i].size);
		cli_errorf(BENCH_CMD, "%s: %s bytes: %s", res[i].mech->name,
			   sz, res[i].why);
		status = CLI_EXIT_FAIL;
	}
	for (i = 0; i < nsres; i++) {
		if (sres[i].status != BENCH_FAILED)
			continue;
		cli_errorf(BENCH_CMD, "%s: %s", sres[i].mech->name,
			   sres[i].why);
		status = CLI_EXIT_FAIL;
	}
	bench_print(stdout, fmt, &o, &mc, res, nres, sres, nsres);
	if (plot != NULL && bench_plot(plot, &mc, res, nres) < 0)
		status = CLI_EXIT_FAIL;
	free(res);
	return status;
}
