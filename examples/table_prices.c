/*
 * table_prices: a price table in shared memory, filled by one process and
 * read by another, which looks up a whole basket of symbols in one call.
 *
 * A writer process puts the price of 1000 symbols (SYM0000 .. SYM0999)
 * into a shmkit table; the parent then prices a basket of symbols with
 * shmkit_table_get_many(), which hashes the keys ahead and overlaps their
 * trips to memory, and reports the one symbol it does not know. The table
 * is removed at the end.
 *
 *   table_prices [ADDRESS]      default posix:/shmkit-example-prices
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <shmkit/error.h>
#include <shmkit/seg.h>
#include <shmkit/table.h>

#define SYMBOLS 1000
#define SYM_LEN 8 /* "SYM0042" and its NUL: the key, fixed size */

struct price {
	int64_t cents;
	uint64_t updated; /* update number, for the example's checks */
};

static const char *basket[] = {"SYM0001", "SYM0420", "SYM0999",
			       "ACME",	  "SYM0007", "SYM0500"};
#define BASKET (sizeof(basket) / sizeof(basket[0]))

static void
die(const char *what, int rc)
{
	fprintf(stderr, "table_prices: %s: %s\n", what, shmkit_strerror(rc));
	exit(1);
}

/* The fixed-size key of a symbol: its name, zero-padded. A longer name
 * would have to be cut, and two symbols would then share a key: refuse. */
static void
symbol_key(char key[SYM_LEN], const char *sym)
{
	size_t n = strlen(sym);

	if (n >= SYM_LEN) {
		fprintf(stderr, "table_prices: symbol '%s' longer than %d\n",
			sym, SYM_LEN - 1);
		exit(1);
	}
	memset(key, 0, SYM_LEN);
	memcpy(key, sym, n);
}

/* The writer process: open the table and put every price. */
static int
writer(const char *addr)
{
	shmkit_table_t *t;
	struct price p;
	char key[SYM_LEN], sym[16];
	int i, rc;

	rc = shmkit_table_open(&t, addr, 0);
	if (rc < 0)
		die("writer: open", rc);
	for (i = 0; i < SYMBOLS; i++) {
		snprintf(sym, sizeof(sym), "SYM%04d", i);
		symbol_key(key, sym);
		p.cents = 1000 + i;
		p.updated = 1;
		rc = shmkit_table_put(t, key, &p);
		if (rc < 0)
			die("writer: put", rc);
	}
	shmkit_table_close(t);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *addr = argc > 1 ? argv[1] : "posix:/shmkit-example-prices";
	shmkit_table_opts_t o = {
		.capacity = SYMBOLS,
		.key_size = SYM_LEN,
		.value_size = sizeof(struct price),
	};
	char keys[BASKET][SYM_LEN];
	struct price prices[BASKET];
	int results[BASKET], found, st;
	shmkit_table_t *t;
	size_t i;
	pid_t pid;
	int rc;

	rc = shmkit_table_create(&t, addr, &o); /* mode 0600 */
	if (rc == -EEXIST) {
		fprintf(stderr,
			"table_prices: %s exists (left by a killed "
			"run?): remove it with 'shmkit rm %s'\n",
			addr, addr);
		return 1;
	}
	if (rc < 0)
		die(addr, rc);
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		goto out;
	}
	if (pid == 0)
		_exit(writer(addr));
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0) {
		fprintf(stderr, "table_prices: the writer failed\n");
		rc = -EIO;
		goto out;
	}
	printf("writer %d put %ld prices into %s\n", (int)pid,
	       shmkit_table_count(t), addr);

	/* The whole basket in one call: one result per key. */
	for (i = 0; i < BASKET; i++)
		symbol_key(keys[i], basket[i]);
	found = shmkit_table_get_many(t, BASKET, keys, prices, results);
	if (found < 0) {
		rc = found;
		goto out;
	}
	for (i = 0; i < BASKET; i++) {
		if (results[i] == 0)
			printf("%-8s %4" PRId64 ".%02" PRId64 "\n", basket[i],
			       prices[i].cents / 100, prices[i].cents % 100);
		else if (results[i] == -ENOENT)
			printf("%-8s not in the table\n", basket[i]);
		else
			printf("%-8s %s\n", basket[i],
			       shmkit_strerror(results[i]));
	}
	printf("%d of %zu symbols priced\n", found, BASKET);
	rc = 0;
out:
	shmkit_table_close(t);
	shmkit_seg_unlink_address(addr);
	if (rc < 0)
		die("table_prices", rc);
	return 0;
}
