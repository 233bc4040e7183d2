/*
 * bench_verdict.h: one line per performance target of an issue, as the
 * programs in bench/ print them: what was measured, the bound, the
 * measurement, PASS or MISS. Header-only: each bench is one program.
 */
#ifndef SHMKIT_BENCH_VERDICT_H
#define SHMKIT_BENCH_VERDICT_H

#include <stdio.h>

/* Targets missed so far by this program (bench_verdict() counts them). */
static int bench_misses;

/* Print one target line: measured must be <= target when at_most, else
 * >= target. Returns 1 when it holds, 0 when it is missed. */
static inline int
bench_verdict(const char *what, double measured, int at_most, double target)
{
	int ok = at_most ? measured <= target : measured >= target;

	if (!ok)
		bench_misses++;
	printf("  %-46s %s %-8.4g measured %-10.4g %s\n", what,
	       at_most ? "<=" : ">=", target, measured, ok ? "PASS" : "MISS");
	return ok;
}

#endif /* SHMKIT_BENCH_VERDICT_H */
