/*
 * demo_bench.c: the demo's "bench" section, the numbers behind the story.
 *
 * Runs a few rows of "shmkit bench" in this process, through the bench
 * driver (bench_measure(), as cmd_bench.c does), with the settings of
 * "shmkit bench --quick" at one size, 64 bytes: the cache-line floor,
 * the kernel's pipe, unix stream socket and POSIX message queue, a ring
 * in a POSIX segment and, when the bench has them, shmkit channels. It
 * prints a two-column table and says in a sentence what it shows. Rows
 * the bench table does not have (yet) are left out, so the demo follows
 * the benchmark rather than a copy of it.
 */
#include "bench.h"
#include "cli.h"
#include "demo.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#define BENCH_DEMO_SIZE 64

/* The rows, in the order shown. */
static const char *const demo_rows[] = {
	"floor",     "pipe",	   "unix-stream",	  "posix-mq",
	"shm-posix", "chan-posix", "chan-posix-adaptive",
};
#define NROWS (sizeof(demo_rows) / sizeof(demo_rows[0]))

static const struct bench_mech *
find_mech(const char *name)
{
	size_t i;

	for (i = 0; i < bench_nmechs; i++)
		if (strcmp(bench_mechs[i].name, name) == 0)
			return &bench_mechs[i];
	return NULL;
}

/* "110 ns", "39.9 us", "1.20 ms" */
static void
fmt_time_ns(char *buf, size_t len, double ns)
{
	static const char *const unit[] = {"ns", "us", "ms", "s"};
	size_t u = 0;

	while (ns >= 1000 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
		ns /= 1000;
		u++;
	}
	/* Three significant digits, whole nanoseconds. */
	snprintf(buf, len, "%.*f %s",
		 u == 0	   ? 0
		 : ns < 10 ? 2
			   : ns < 100,
		 ns, unit[u]);
}

/* "13.0 M", "156 k" */
static void
fmt_count(char *buf, size_t len, double v)
{
	const char *u = "";

	if (v >= 1e6) {
		v /= 1e6;
		u = " M";
	} else if (v >= 1e3) {
		v /= 1e3;
		u = " k";
	}
	snprintf(buf, len, "%.*f%s", v < 10 ? 2 : v < 100, v, u);
}

static const struct bench_result *
result_of(const struct bench_result *r, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(r[i].mech->name, name) == 0 &&
		    r[i].status == BENCH_OK)
			return &r[i];
	return NULL;
}

/* The sentence under the table: the fastest shared memory row against
 * the pipe and the floor, in the numbers just measured. */
static void
tell_reading(const struct bench_result *r, size_t n)
{
	const struct bench_result *fl, *pi, *best = NULL, *c;
	char t_best[32], t_pipe[32];
	size_t i;

	fl = result_of(r, n, "floor");
	pi = result_of(r, n, "pipe");
	for (i = 0; i < n; i++) {
		c = &r[i];
		if (c->status != BENCH_OK ||
		    (strncmp(c->mech->name, "shm-", 4) != 0 &&
		     strncmp(c->mech->name, "chan-", 5) != 0))
			continue;
		if (best == NULL || c->lat[BENCH_P50] < best->lat[BENCH_P50])
			best = c;
	}
	printf("\nROUND TRIP is the median time for a message to go to the "
	       "other process and\ncome back; MESSAGES/S is how many one "
	       "process can send the other in a second.\nfloor is one cache "
	       "line handed back and forth: no round trip can beat it. It\n"
	       "holds one message at a time, so the rings overtake its "
	       "MESSAGES/S.\n");
	if (fl == NULL || pi == NULL || best == NULL)
		return;
	fmt_time_ns(t_best, sizeof(t_best), best->lat[BENCH_P50]);
	fmt_time_ns(t_pipe, sizeof(t_pipe), pi->lat[BENCH_P50]);
	printf("Here a round trip through %s took %s:\n%.0f times less than "
	       "through a pipe (%s), %.1f times the floor. Through the\nkernel "
	       "each message is a system call and a wake-up; through shared "
	       "memory\nit is a store and a load.\n",
	       best->mech->name, t_best,
	       pi->lat[BENCH_P50] / best->lat[BENCH_P50], t_pipe,
	       best->lat[BENCH_P50] / fl->lat[BENCH_P50]);
}

static void
print_table(const struct bench_result *r, size_t n)
{
	char lat[32], rate[32];
	size_t i;

	printf("\n  %-20s %12s %12s\n", "MECHANISM", "ROUND TRIP",
	       "MESSAGES/S");
	for (i = 0; i < n; i++) {
		if (r[i].status != BENCH_OK) {
			printf("  %-20s %12s %12s\n", r[i].mech->name, "n/a",
			       "n/a");
			continue;
		}
		fmt_time_ns(lat, sizeof(lat), r[i].lat[BENCH_P50]);
		fmt_count(rate, sizeof(rate), r[i].msgs);
		printf("  %-20s %12s %12s\n", r[i].mech->name, lat, rate);
	}
}

int
demo_bench(const struct demo *d)
{
	/* The settings of "shmkit bench --quick" (cmd_bench.c). */
	struct bench_opts o = {
		.sizes = {BENCH_DEMO_SIZE},
		.nsizes = 1,
		.iterations = 2000,
		.warmup = 50,
		.duration = 0.03,
		.pin = 1,
	};
	struct bench_result res[NROWS];
	struct bench_machine mc;
	cpu_set_t saved;
	int have_saved, failed = 0, sig;
	size_t i, n = 0;

	(void)d;
	/* The driver pins this process to a CPU: give the rest of the demo
	 * its CPUs back afterwards. */
	have_saved = sched_getaffinity(0, sizeof(saved), &saved) == 0;
	bench_machine_probe(&mc, o.pin);
	if (mc.pinned)
		printf("Measuring %d-byte messages between two processes "
		       "pinned to CPUs %d and %d,\nas 'shmkit bench --quick' "
		       "does (%s, %ld cores)...\n",
		       BENCH_DEMO_SIZE, mc.cpu_a, mc.cpu_b, mc.cpu, mc.cores);
	else
		printf("Measuring %d-byte messages between two processes, as "
		       "'shmkit bench --quick'\ndoes (%s, %ld core%s: not "
		       "pinned)...\n",
		       BENCH_DEMO_SIZE, mc.cpu, mc.cores,
		       mc.cores == 1 ? "" : "s");
	fflush(stdout);
	bench_signals_init();
	for (i = 0; i < NROWS && !bench_interrupted(); i++) {
		const struct bench_mech *m = find_mech(demo_rows[i]);

		if (m == NULL)
			continue;
		bench_measure(m, BENCH_DEMO_SIZE, &o, &mc, &res[n]);
		if (res[n].status == BENCH_FAILED && !bench_interrupted()) {
			cli_errorf(DEMO_CMD, "bench: %s: %s", m->name,
				   res[n].why);
			failed = 1;
		}
		n++;
	}
	bench_signals_fini();
	if (have_saved)
		sched_setaffinity(0, sizeof(saved), &saved);
	sig = bench_interrupted();
	if (sig != 0) {
		/* Everything measured is cleaned up by the driver; let the
		 * demo die of the signal as it does in other sections. */
		demo_signal = sig;
		return -1;
	}
	print_table(res, n);
	tell_reading(res, n);
	printf("For more sizes, percentiles and every other mechanism, run "
	       "'shmkit bench'.\n");
	return failed ? -1 : 0;
}
