/*
 * bench_output.c: the results of "shmkit bench" as an aligned table,
 * JSON, CSV, and a plot drawn by gnuplot.
 *
 * Every format starts with the machine (CPU model, cores, kernel, pinning)
 * and the settings, because a number without them means little: the same
 * mechanism differs by an order of magnitude between a laptop and a
 * shared virtual machine. The plot is the only output that needs another
 * program; gnuplot is looked for before the run, so a missing one costs
 * the user no minute of measuring.
 */
#include "bench.h"
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <shmkit/error.h>

static const char *const lat_names[BENCH_NLAT] = { "p50", "p90", "p99",
						   "p99.9", "max" };

void
bench_fmt_size(char *buf, size_t len, size_t size)
{
	if (size >= (1u << 20) && size % (1u << 20) == 0)
		snprintf(buf, len, "%zuM", size >> 20);
	else if (size >= 1024 && size % 1024 == 0)
		snprintf(buf, len, "%zuK", size >> 10);
	else
		snprintf(buf, len, "%zu", size);
}

static void
fmt_ns(char *buf, size_t len, double ns)
{
	if (ns < 1e3)
		snprintf(buf, len, "%.0fns", ns);
	else if (ns < 1e6)
		snprintf(buf, len, "%.1fus", ns / 1e3);
	else if (ns < 1e9)
		snprintf(buf, len, "%.2fms", ns / 1e6);
	else
		snprintf(buf, len, "%.2fs", ns / 1e9);
}

static void
fmt_rate(char *buf, size_t len, double v, const char *unit)
{
	static const char *const pre[] = { "", "k", "M", "G", "T" };
	int i = 0;

	while (v >= 1000 && i < 4) {
		v /= 1000;
		i++;
	}
	snprintf(buf, len, "%.*f%s%s", v < 10 ? 2 : v < 100 ? 1 : 0, v,
		 pre[i], unit);
}

/* A ratio with two significant digits at least: shared memory against a
 * pipe is often below 0.01, which "%.2f" would print as 0.00. */
static void
fmt_ratio(char *buf, size_t len, double v)
{
	if (v <= 0)
		snprintf(buf, len, "-");
	else if (v >= 10)
		snprintf(buf, len, "%.0fx", v);
	else if (v >= 0.1)
		snprintf(buf, len, "%.2fx", v);
	else
		snprintf(buf, len, "%.2gx", v); /* 0.031x, 0.0031x, 3.1e-05x */
}

static void
machine_line(FILE *f, const char *lead, const struct bench_machine *mc)
{
	fprintf(f, "%s%s, %ld cores, %s; ", lead, mc->cpu, mc->cores,
		mc->kernel);
	if (mc->pinned)
		fprintf(f, "processes pinned to CPUs %d and %d\n", mc->cpu_a,
			mc->cpu_b);
	else
		fprintf(f, "processes not pinned\n");
}

static void
settings_line(FILE *f, const char *lead, const struct bench_opts *o)
{
	fprintf(f, "%slatency: round trip, up to %lu iterations after %lu "
		"warm-up, capped at %gs; throughput: one way for %gs\n",
		lead, o->iterations, o->warmup, o->duration, o->duration);
}

/* What each synchronisation result measures, for the table and JSON. */
static const char *
sync_metric(const struct bench_sync_result *r)
{
	return r->mech->arg == BENCH_SYNC_MUTEX ? "ns_per_lock_unlock"
						: "round_trip_p50_ns";
}

static const char *
sync_status(enum bench_status st)
{
	return st == BENCH_OK ? "ok" : st == BENCH_NA ? "n/a" : "failed";
}

/* The synchronisation section under the table: one line per object. */
static void
print_sync_table(FILE *f, const struct bench_sync_result *r, size_t n)
{
	char a[16], b[16], t[16];
	size_t i;

	if (n == 0)
		return;
	fprintf(f, "\n# synchronisation, measured in this run: mutex = "
		"uncontended lock+unlock,\n# event = wake-up round trip "
		"between the two processes (p50); RATIO = SHMKIT / BASELINE\n");
	fprintf(f, "%-15s %-14s %8s %8s %7s %8s\n", "SYNC", "BASELINE",
		"SHMKIT", "BASE", "RATIO", "SAMPLES");
	for (i = 0; i < n; i++) {
		if (r[i].status != BENCH_OK) {
			fprintf(f, "%-15s %-14s %8s  %s\n", r[i].mech->name,
				r[i].base,
				r[i].status == BENCH_NA ? "n/a" : "FAILED",
				r[i].why);
			continue;
		}
		fmt_ns(a, sizeof(a), r[i].ns);
		fmt_ns(b, sizeof(b), r[i].base_ns);
		fmt_ratio(t, sizeof(t), r[i].ratio);
		fprintf(f, "%-15s %-14s %8s %8s %7s %8lu\n", r[i].mech->name,
			r[i].base, a, b, t, r[i].samples);
	}
}

static void
print_table(FILE *f, const struct bench_opts *o,
	    const struct bench_machine *mc, const struct bench_result *r,
	    size_t n, const struct bench_sync_result *sr, size_t ns)
{
	char sz[BENCH_SIZE_STR], l[BENCH_NLAT][16], mr[16], br[16], a[16], b[16];
	char t[16];
	size_t i;
	int k;

	machine_line(f, "# ", mc);
	settings_line(f, "# ", o);
	fprintf(f, "# x floor, x pipe: p50 latency as a multiple of floor's "
		"and of pipe's at the same size;\n# tput/pipe: messages per "
		"second as a multiple of pipe's; bytes/s: bytes copied per\n"
		"# second, '-' for zero-copy rows (chan-*), which hand "
		"messages over in place\n");
	fprintf(f, "%-19s %5s %8s %8s %8s %8s %8s %9s %11s %8s %8s %9s\n",
		"MECHANISM", "SIZE", "P50", "P90", "P99", "P99.9", "MAX",
		"MSG/S", "BYTES/S", "x FLOOR", "x PIPE", "TPUT/PIPE");
	for (i = 0; i < n; i++) {
		bench_fmt_size(sz, sizeof(sz), r[i].size);
		if (r[i].status != BENCH_OK) {
			fprintf(f, "%-19s %5s %8s  %s\n", r[i].mech->name, sz,
				r[i].status == BENCH_NA ? "n/a" : "FAILED",
				r[i].why);
			continue;
		}
		for (k = 0; k < BENCH_NLAT; k++)
			fmt_ns(l[k], sizeof(l[k]), r[i].lat[k]);
		fmt_rate(mr, sizeof(mr), r[i].msgs, "");
		if (r[i].bytes > 0)
			fmt_rate(br, sizeof(br), r[i].bytes, "B/s");
		else
			snprintf(br, sizeof(br), "-");
		fmt_ratio(a, sizeof(a), r[i].lat_floor);
		fmt_ratio(b, sizeof(b), r[i].lat_pipe);
		fmt_ratio(t, sizeof(t), r[i].tput_pipe);
		fprintf(f,
			"%-19s %5s %8s %8s %8s %8s %8s %9s %11s %8s %8s %9s\n",
			r[i].mech->name, sz, l[0], l[1], l[2], l[3], l[4], mr,
			br, a, b, t);
	}
	print_sync_table(f, sr, ns);
}

static void
json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

/* A number, or null when absent (JSON has no NaN). */
static void
json_num(FILE *f, double v, int present)
{
	if (present)
		fprintf(f, "%.6g", v);
	else
		fprintf(f, "null");
}

static void
print_json(FILE *f, const struct bench_opts *o,
	   const struct bench_machine *mc, const struct bench_result *r,
	   size_t n, const struct bench_sync_result *sr, size_t ns)
{
	size_t i;
	int k, ok;

	fprintf(f, "{\n  \"tool\": \"%s %s\",\n  \"version\": \"%s\",\n",
		CLI_PROGRAM, BENCH_CMD, SHMKIT_VERSION_STRING);
	fprintf(f, "  \"machine\": {\"cpu\": ");
	json_str(f, mc->cpu);
	fprintf(f, ", \"cores\": %ld, \"kernel\": ", mc->cores);
	json_str(f, mc->kernel);
	fprintf(f, ", \"pinned\": %s", mc->pinned ? "true" : "false");
	if (mc->pinned)
		fprintf(f, ", \"cpus\": [%d, %d]", mc->cpu_a, mc->cpu_b);
	fprintf(f, "},\n  \"settings\": {\"sizes\": [");
	for (k = 0; k < o->nsizes; k++)
		fprintf(f, "%s%zu", k > 0 ? ", " : "", o->sizes[k]);
	fprintf(f, "], \"iterations\": %lu, \"warmup\": %lu, "
		"\"duration_s\": %g},\n", o->iterations, o->warmup,
		o->duration);
	fprintf(f, "  \"results\": [");
	for (i = 0; i < n; i++) {
		ok = r[i].status == BENCH_OK;
		fprintf(f, "%s\n    {\"mechanism\": ", i > 0 ? "," : "");
		json_str(f, r[i].mech->name);
		fprintf(f, ", \"size\": %zu, \"status\": \"%s\",\n", r[i].size,
			ok ? "ok" : r[i].status == BENCH_NA ? "n/a" : "failed");
		fprintf(f, "     \"latency_ns\": ");
		if (ok) {
			fprintf(f, "{");
			for (k = 0; k < BENCH_NLAT; k++)
				fprintf(f, "%s\"%s\": %.0f", k > 0 ? ", " : "",
					lat_names[k], r[i].lat[k]);
			fprintf(f, "}");
		} else {
			fprintf(f, "null");
		}
		fprintf(f, ", \"samples\": %lu,\n     \"msgs_per_s\": ",
			r[i].samples);
		json_num(f, r[i].msgs, ok);
		fprintf(f, ", \"bytes_per_s\": ");
		json_num(f, r[i].bytes, ok && r[i].bytes > 0);
		fprintf(f, ",\n     \"ratio\": {\"latency_vs_floor\": ");
		json_num(f, r[i].lat_floor, r[i].lat_floor > 0);
		fprintf(f, ", \"latency_vs_pipe\": ");
		json_num(f, r[i].lat_pipe, r[i].lat_pipe > 0);
		fprintf(f, ", \"throughput_vs_pipe\": ");
		json_num(f, r[i].tput_pipe, r[i].tput_pipe > 0);
		fprintf(f, ", \"throughput_vs_memcpy\": ");
		json_num(f, r[i].tput_memcpy, r[i].tput_memcpy > 0);
		fprintf(f, "},\n     \"reason\": ");
		if (ok)
			fprintf(f, "null");
		else
			json_str(f, r[i].why);
		fprintf(f, "}");
	}
	fprintf(f, "\n  ],\n  \"sync\": [");
	for (i = 0; i < ns; i++) {
		ok = sr[i].status == BENCH_OK;
		fprintf(f, "%s\n    {\"mechanism\": ", i > 0 ? "," : "");
		json_str(f, sr[i].mech->name);
		fprintf(f, ", \"status\": \"%s\", \"metric\": \"%s\",\n",
			sync_status(sr[i].status), sync_metric(&sr[i]));
		fprintf(f, "     \"shmkit_ns\": ");
		json_num(f, sr[i].ns, ok);
		fprintf(f, ", \"baseline\": ");
		json_str(f, sr[i].base);
		fprintf(f, ", \"baseline_ns\": ");
		json_num(f, sr[i].base_ns, ok);
		fprintf(f, ", \"ratio\": ");
		json_num(f, sr[i].ratio, ok && sr[i].ratio > 0);
		fprintf(f, ", \"samples\": %lu,\n     \"reason\": ",
			sr[i].samples);
		if (ok)
			fprintf(f, "null");
		else
			json_str(f, sr[i].why);
		fprintf(f, "}");
	}
	fprintf(f, "%s]\n}\n", ns > 0 ? "\n  " : "");
}

/* ",value" with digits significant digits (0: an integer), or "," when
 * absent. */
static void
csv_num(FILE *f, double v, int present, int digits)
{
	fputc(',', f);
	if (present && digits == 0)
		fprintf(f, "%.0f", v);
	else if (present)
		fprintf(f, "%.*g", digits, v);
}

/* A quoted CSV field ("" stands for "). */
static void
csv_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

/*
 * CSV is one rectangular table, so that any CSV reader takes it whole.
 * Column "kind" tells the two kinds of row apart: "ipc" rows (one per
 * mechanism and size) fill the latency, throughput and ratio columns;
 * "sync" rows (mutex, event: one each) fill metric, shmkit_ns,
 * baseline, baseline_ns and ratio. Columns that do not apply are empty.
 */
static const char csv_header[] =
	"kind,mechanism,size,status,p50_ns,p90_ns,p99_ns,p99_9_ns,max_ns,"
	"samples,msgs_per_s,bytes_per_s,latency_vs_floor,latency_vs_pipe,"
	"throughput_vs_pipe,throughput_vs_memcpy,metric,shmkit_ns,baseline,"
	"baseline_ns,ratio,reason\n";

/* n empty fields. */
static void
csv_empty(FILE *f, int n)
{
	while (n-- > 0)
		fputc(',', f);
}

static void
print_sync_csv(FILE *f, const struct bench_sync_result *r, size_t n)
{
	size_t i;
	int ok;

	for (i = 0; i < n; i++) {
		ok = r[i].status == BENCH_OK;
		fprintf(f, "sync,%s,,%s", r[i].mech->name,
			sync_status(r[i].status));
		csv_empty(f, BENCH_NLAT);
		csv_num(f, (double)r[i].samples, ok, 0);
		csv_empty(f, 6);
		fprintf(f, ",%s", sync_metric(&r[i]));
		csv_num(f, r[i].ns, ok, 6);
		fprintf(f, ",%s", r[i].base);
		csv_num(f, r[i].base_ns, ok, 6);
		csv_num(f, r[i].ratio, ok && r[i].ratio > 0, 4);
		fputc(',', f);
		if (!ok)
			csv_str(f, r[i].why);
		fputc('\n', f);
	}
}

static void
print_csv(FILE *f, const struct bench_opts *o,
	  const struct bench_machine *mc, const struct bench_result *r,
	  size_t n, const struct bench_sync_result *sr, size_t ns)
{
	size_t i;
	int k, ok;

	machine_line(f, "# ", mc);
	settings_line(f, "# ", o);
	fputs(csv_header, f);
	for (i = 0; i < n; i++) {
		ok = r[i].status == BENCH_OK;
		fprintf(f, "ipc,%s,%zu,%s", r[i].mech->name, r[i].size,
			ok ? "ok" : r[i].status == BENCH_NA ? "n/a" : "failed");
		for (k = 0; k < BENCH_NLAT; k++)
			csv_num(f, r[i].lat[k], ok, 0);
		csv_num(f, (double)r[i].samples, ok, 0);
		csv_num(f, r[i].msgs, ok, 6);
		csv_num(f, r[i].bytes, ok && r[i].bytes > 0, 6);
		csv_num(f, r[i].lat_floor, r[i].lat_floor > 0, 4);
		csv_num(f, r[i].lat_pipe, r[i].lat_pipe > 0, 4);
		csv_num(f, r[i].tput_pipe, r[i].tput_pipe > 0, 4);
		csv_num(f, r[i].tput_memcpy, r[i].tput_memcpy > 0, 4);
		csv_empty(f, 5);
		fputc(',', f);
		if (!ok)
			csv_str(f, r[i].why);
		fputc('\n', f);
	}
	print_sync_csv(f, sr, ns);
}

int
bench_print(FILE *f, enum bench_format fmt, const struct bench_opts *o,
	    const struct bench_machine *mc, const struct bench_result *r,
	    size_t n, const struct bench_sync_result *sr, size_t ns)
{
	switch (fmt) {
	case BENCH_TABLE:
		print_table(f, o, mc, r, n, sr, ns);
		break;
	case BENCH_JSON:
		print_json(f, o, mc, r, n, sr, ns);
		break;
	case BENCH_CSV:
		print_csv(f, o, mc, r, n, sr, ns);
		break;
	}
	return ferror(f) ? -EIO : 0;
}

int
bench_plot_check(void)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];
	const char *p, *e;
	size_t len;

	if (path == NULL)
		path = "/usr/bin:/bin";
	for (p = path;; p = e + 1) {
		e = strchr(p, ':');
		len = e != NULL ? (size_t)(e - p) : strlen(p);
		if (len == 0)
			snprintf(buf, sizeof(buf), "./gnuplot");
		else
			snprintf(buf, sizeof(buf), "%.*s/gnuplot", (int)len, p);
		if (access(buf, X_OK) == 0)
			return 0;
		if (e == NULL)
			return -ENOENT;
	}
}

/* A string as a gnuplot single-quoted literal ('' stands for '). */
static void
gp_str(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s != '\0'; s++) {
		if (*s == '\'')
			fputc('\'', f);
		if (*s != '\n')
			fputc(*s, f);
	}
	fputc('\'', f);
}

/* One data block per mechanism with a plottable row: "size p50 bytes/s",
 * NaN when the row has no bytes/s (zero-copy rows copy none); bytes[b]
 * says whether block b has any, since gnuplot refuses a curve without a
 * single point. Size-0 rows (no payload) cannot sit on a log axis and
 * are left out. */
static int
write_data(FILE *d, const struct bench_result *r, size_t n,
	   const char **names, int *bytes, int max)
{
	int blocks = 0, rows;
	size_t i, j;

	for (i = 0; i < n && blocks < max; i++) {
		if (i > 0 && r[i].mech == r[i - 1].mech)
			continue;
		rows = 0;
		bytes[blocks] = 0;
		for (j = i; j < n && r[j].mech == r[i].mech; j++) {
			if (r[j].status != BENCH_OK || r[j].size == 0)
				continue;
			if (r[j].bytes > 0) {
				fprintf(d, "%zu %.6g %.6g\n", r[j].size,
					r[j].lat[BENCH_P50], r[j].bytes);
				bytes[blocks] = 1;
			} else {
				fprintf(d, "%zu %.6g NaN\n", r[j].size,
					r[j].lat[BENCH_P50]);
			}
			rows++;
		}
		if (rows > 0) {
			fprintf(d, "\n\n");
			names[blocks++] = r[i].mech->name;
		}
	}
	return blocks;
}

static int
run_gnuplot(const char *script)
{
	pid_t pid;
	int st;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execlp("gnuplot", "gnuplot", script, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		return -ENOENT;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
}

/*
 * The x axis: a tic at each size some curve has a point at (the floor's
 * 64 bytes included, requested or not), labelled as the table labels
 * sizes, and a range with a third of a doubling to spare each side, as
 * gnuplot drops the label of a tic on the very end of its range.
 */
static void
plot_x_axis(FILE *s, const struct bench_result *r, size_t n)
{
	size_t sizes[64], count = 0, i, j;
	char sz[BENCH_SIZE_STR];

	for (i = 0; i < n; i++) {
		if (r[i].status != BENCH_OK || r[i].size == 0)
			continue;
		for (j = 0; j < count && sizes[j] < r[i].size; j++)
			;
		if ((j < count && sizes[j] == r[i].size) ||
		    count == sizeof(sizes) / sizeof(sizes[0]))
			continue;
		memmove(&sizes[j + 1], &sizes[j], (count - j) * sizeof(*sizes));
		sizes[j] = r[i].size;
		count++;
	}
	fprintf(s, "\nset logscale x 2\n");
	if (count == 0)
		return; /* nothing to plot: bench_plot() says so */
	fprintf(s, "set xrange [%zu/1.26:%zu*1.26]\nset xtics (", sizes[0],
		sizes[count - 1]);
	for (i = 0; i < count; i++) {
		bench_fmt_size(sz, sizeof(sz), sizes[i]);
		fprintf(s, "%s'%s' %zu", i > 0 ? ", " : "", sz, sizes[i]);
	}
	fprintf(s, ")\n");
}

int
bench_plot(const char *file, const struct bench_machine *mc,
	   const struct bench_result *r, size_t n)
{
	const char *tmp = getenv("TMPDIR"), *names[64];
	int bytes[64], panels = 1, first;
	char dpath[PATH_MAX], spath[PATH_MAX], title[512];
	int png, dfd = -1, sfd = -1, blocks, panel, b, rc = 0;
	FILE *d = NULL, *s = NULL;

	if (tmp == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	png = strcmp(strrchr(file, '.'), ".png") == 0;
	snprintf(dpath, sizeof(dpath), "%s/shmkit-bench-XXXXXX.dat", tmp);
	snprintf(spath, sizeof(spath), "%s/shmkit-bench-XXXXXX.gp", tmp);
	dfd = mkstemps(dpath, 4);
	if (dfd >= 0)
		sfd = mkstemps(spath, 3);
	if (dfd < 0 || sfd < 0) {
		rc = -errno;
		goto out;
	}
	d = fdopen(dfd, "w");
	if (d != NULL)
		dfd = -1;
	s = fdopen(sfd, "w");
	if (s != NULL)
		sfd = -1;
	if (d == NULL || s == NULL) {
		rc = -errno;
		goto out;
	}
	blocks = write_data(d, r, n, names, bytes, 64);
	for (b = 0; b < blocks; b++)
		if (bytes[b])
			panels = 2; /* a bandwidth panel, for those with bytes */
	snprintf(title, sizeof(title), "shmkit bench: %s, %ld cores, %s",
		 mc->cpu, mc->cores, mc->kernel);
	fprintf(s, "set terminal %s size 1000,1000 noenhanced "
		"font 'sans,10'\n", png ? "pngcairo" : "svg");
	fprintf(s, "set output ");
	gp_str(s, file);
	fprintf(s, "\nset multiplot layout %d,1 title ", panels);
	gp_str(s, title);
	plot_x_axis(s, r, n);
	fprintf(s, "set xlabel 'message size (bytes)'\n"
		   "set key outside right top\nset grid\nset logscale y 10\n");
	for (panel = 0; panel < panels; panel++) {
		/* Latency in seconds, so that %c gives n, u, m. */
		fprintf(s, "set ylabel '%s'\nset format y '%s'\nplot ",
			panel == 0 ? "round-trip latency, p50"
				   : "one-way throughput (bytes copied)",
			panel == 0 ? "%.0s%cs" : "%.0s%cB/s");
		for (b = 0, first = 1; b < blocks; b++) {
			if (panel == 1 && !bytes[b])
				continue;
			fprintf(s, "%s", first ? "" : ", \\\n  ");
			first = 0;
			gp_str(s, dpath);
			/* One line type per mechanism: the same colour in
			 * both panels, whichever curves the second omits. */
			fprintf(s, " index %d using 1:%s with linespoints "
				"linetype %d title '%s'", b,
				panel == 0 ? "($2/1e9)" : "3", b + 1, names[b]);
		}
		fprintf(s, "\n");
	}
	fprintf(s, "unset multiplot\n");
	if (fflush(d) != 0 || fflush(s) != 0) {
		rc = -errno;
		goto out;
	}
	if (blocks == 0) {
		cli_errorf(BENCH_CMD, "--plot: no result to plot");
		rc = -ENODATA;
		goto out_noerr;
	}
	rc = run_gnuplot(spath);
	if (rc < 0) {
		cli_errorf(BENCH_CMD, "--plot: gnuplot could not draw %s%s",
			   file, rc == -ENOENT ? " (gnuplot not found)" : "");
		goto out_noerr;
	}
out:
	if (rc < 0)
		cli_error(BENCH_CMD, "--plot", rc);
out_noerr:
	if (d != NULL)
		fclose(d);
	if (s != NULL)
		fclose(s);
	if (dfd >= 0)
		close(dfd);
	if (sfd >= 0)
		close(sfd);
	unlink(dpath);
	unlink(spath);
	return rc;
}
