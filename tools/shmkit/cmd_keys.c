/*
 * shmkit keys: the operator's view of a key store (<shmkit/keys.h>):
 * init, put, get, del, revoke and ls.
 *
 * Key bytes are secrets, and this file keeps them out of everything an
 * operator's terminal, shell history or log collects: put reads them from
 * standard input or a file, never from the command line; get prints them
 * only when asked with --reveal; ls never does; no message ever quotes
 * them. Buffers that held key bytes are locked in memory where allowed
 * and wiped before they are released, revealed bytes bypass stdio's
 * buffer (keys_secret.c), and the process is not dumpable, so neither a
 * core dump nor a debugger of the same user gets at them.
 */
#include "cli.h"
#include "fmt.h"
#include "keys_secret.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <libsmartcols.h>

#include <shmkit/shmkit.h>
#include <shmkit/keys.h>

#define DEFAULT_ADDRESS "posix:/shmkit-keys"
#define DEFAULT_CAPACITY 1024

/* Options every keys subcommand takes. */
struct keys_ctx {
	const char *address;
	unsigned flags; /* SHMKIT_KEYS_NOLOCK_OK */
	const char *cmd; /* "keys put": prefix of messages */
};

enum { OPT_NO_MLOCK = 0x100 };
/* From next_opt(): the subcommand returns; getopt_long never gives it. */
enum { OPT_STOP = -2 };

static void
keys_usage(void)
{
	printf("Usage: shmkit keys [--address ADDRESS] [--no-mlock] COMMAND "
	       "[ARGS]\n\n"
	       "Manage the key store of a key-management service: one record\n"
	       "per (client id, server id) with a key id, the key bytes, a\n"
	       "status (valid or revoked) and its times. Ids are 1 to 12 bytes.\n"
	       "Key bytes are never taken from the command line and never\n"
	       "shown unless 'get --reveal' asks for them.\n\n"
	       "Commands:\n"
	       "  init     create an empty store\n"
	       "  put      store a key (read from stdin or --file)\n"
	       "  get      show one record\n"
	       "  del      remove a record (its key is zeroised)\n"
	       "  revoke   mark a record's key revoked\n"
	       "  ls       list the records, without key bytes\n\n"
	       "Options (also accepted after COMMAND):\n"
	       "  -a, --address ADDRESS  the store (default %s)\n"
	       "      --no-mlock         carry on if the store's pages cannot\n"
	       "                         be locked in memory\n"
	       "  -h, --help             this help\n\n"
	       "Run 'shmkit keys COMMAND --help' for the options of a command.\n"
	       "Remove a store with 'shmkit rm ADDRESS'.\n\n"
	       "Examples:\n"
	       "  shmkit keys init --capacity 4096\n"
	       "  head -c 32 /dev/urandom | shmkit keys put alice srv1 "
	       "--key-id 7\n"
	       "  shmkit keys ls\n",
	       DEFAULT_ADDRESS);
}

/* The long options every subcommand takes, first in its longopts[]. */
#define COMMON_LONGOPTS                                                        \
	{ "address", required_argument, NULL, 'a' },                           \
		{ "no-mlock", no_argument, NULL, OPT_NO_MLOCK },               \
		{ "help", no_argument, NULL, 'h' }

/*
 * getopt_long takes any unambiguous prefix of a long option, so "--key"
 * would be --key-id, and its error messages quote the whole argument,
 * value and all. Someone who tries to pass a key on the command line
 * (there is no option for it) must get a plain refusal that quotes
 * neither the key nor a value: check every long option's name exactly,
 * before getopt sees it. Returns 0, or CLI_EXIT_USAGE (reported).
 */
static int
exact_long_names(const char *cmd, int argc, char **argv,
		 const struct option *longopts)
{
	const struct option *o;
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		size_t n;

		if (strcmp(a, "--") == 0)
			break;
		if (strncmp(a, "--", 2) != 0 || a[2] == '\0')
			continue;
		n = strcspn(a + 2, "=");
		for (o = longopts; o->name != NULL; o++)
			if (strlen(o->name) == n &&
			    strncmp(o->name, a + 2, n) == 0)
				break;
		if (o->name == NULL) {
			char esc[4 * 32 + 1], name[33];

			snprintf(name, sizeof(name), "%.*s",
				 (int)(n < 32 ? n : 32), a + 2);
			return cli_usage_error(cmd, "unrecognized option '--%s'",
					       fmt_escape(name, esc, sizeof(esc)));
		}
		/* A value given with '=' to an option that takes none would
		 * be quoted by getopt: refuse it here, unquoted. */
		if (a[2 + n] == '=' && o->has_arg == no_argument)
			return cli_usage_error(cmd, "option '--%s' takes no "
						    "value",
					       o->name);
	}
	return 0;
}

/*
 * Handles option c if it is one of the common ones: 0 when handled, 1
 * when the subcommand must return *status (after --help or a usage
 * error, reported), -1 when c is the subcommand's own.
 */
static int
common_opt(struct keys_ctx *ctx, int c, char **argv, void (*usage)(void),
	   int *status)
{
	switch (c) {
	case 'a':
		ctx->address = optarg;
		return 0;
	case OPT_NO_MLOCK:
		ctx->flags |= SHMKIT_KEYS_NOLOCK_OK;
		return 0;
	case 'h':
		usage();
		*status = CLI_EXIT_OK;
		return 1;
	case '?':
	case ':':
		*status = cli_getopt_error(ctx->cmd, c, argv);
		return 1;
	default:
		return -1;
	}
}

/* getopt_long() for a subcommand with the common options handled: the
 * next option of the subcommand's own, -1 at the end, OPT_STOP when the
 * subcommand must return *status (see common_opt()). */
static int
next_opt(struct keys_ctx *ctx, int argc, char **argv, const char *optstring,
	 const struct option *longopts, void (*usage)(void), int *status)
{
	int c, rc;

	*status = CLI_EXIT_OK;
	while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		rc = common_opt(ctx, c, argv, usage, status);
		if (rc > 0)
			return OPT_STOP;
		if (rc < 0)
			return c;
	}
	return -1;
}

/* Reports that no record holds (CLIENT, SERVER) = argv[optind], +1. */
static int
no_key_error(const struct keys_ctx *ctx, char **argv)
{
	char c1[4 * SHMKIT_KEYS_ID_MAX + 1], c2[4 * SHMKIT_KEYS_ID_MAX + 1];

	cli_errorf(ctx->cmd, "%s: no key for client '%s', server '%s'",
		   ctx->address, fmt_escape(argv[optind], c1, sizeof(c1)),
		   fmt_escape(argv[optind + 1], c2, sizeof(c2)));
	return CLI_EXIT_FAIL;
}

/* 1..12 bytes, as the store takes them; a usage error otherwise. */
static int
check_id(const struct keys_ctx *ctx, const char *what, const char *id)
{
	size_t n = strlen(id);

	/* Not quoted: a long "id" may be a key in the wrong place. */
	if (n == 0 || n > SHMKIT_KEYS_ID_MAX) {
		cli_usage_error(ctx->cmd, "the %s id is %zu bytes; ids are 1 "
					  "to %d bytes",
				what, n, SHMKIT_KEYS_ID_MAX);
		return -1;
	}
	return 0;
}

/* CLIENT SERVER as the only operands. */
static int
pair_operands(const struct keys_ctx *ctx, int argc, char **argv)
{
	if (argc - optind < 2)
		return cli_usage_error(ctx->cmd, "missing CLIENT and SERVER ids");
	/* Not quoted: it may be a key someone tried to pass here. */
	if (argc - optind > 2)
		return cli_usage_error(ctx->cmd, "too many arguments (a key is "
						 "read from standard input or "
						 "--file, never from the "
						 "command line)");
	if (check_id(ctx, "client", argv[optind]) < 0 ||
	    check_id(ctx, "server", argv[optind + 1]) < 0)
		return CLI_EXIT_USAGE;
	return 0;
}

/* Reports a failed library call on the store. */
static int
store_error(const struct keys_ctx *ctx, int rc)
{
	cli_addr_error(ctx->cmd, ctx->address, rc);
	/* -EAGAIN of get or ls: a peer kept rewriting a record. */
	if (rc == -EAGAIN)
		cli_errorf(ctx->cmd, "a record kept changing while it was "
				     "read; try again");
	return CLI_EXIT_FAIL;
}

/* Would "keys init" make a store at address, missing now? Only for a
 * POSIX name or a System V key (ftok: and file: paths may lack their
 * directory), and only one that needs no quoting in the hint. */
static int
init_could_make(const char *address)
{
	shmkit_addr_t a;

	return shmkit_addr_parse(&a, address) == 0 &&
	       (a.kind == SHMKIT_ADDR_POSIX ||
		a.kind == SHMKIT_ADDR_SYSV_KEY) &&
	       strspn(address, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU"
			       "VWXYZ0123456789/_.:-") == strlen(address);
}

/* Reports a failed create or open: only they lock pages in memory, so
 * only their -ENOMEM, -EPERM and -EAGAIN get the hint for mlock. */
static int
open_error(const struct keys_ctx *ctx, int rc)
{
	cli_addr_error(ctx->cmd, ctx->address, rc);
	if (rc == -ENOENT && strcmp(ctx->cmd, "keys init") != 0 &&
	    init_could_make(ctx->address)) {
		int other = strcmp(ctx->address, DEFAULT_ADDRESS) != 0;

		cli_errorf(ctx->cmd,
			   "make a key store with 'shmkit keys%s%s "
			   "init'",
			   other ? " -a " : "", other ? ctx->address : "");
	}
	if ((rc == -ENOMEM || rc == -EPERM || rc == -EAGAIN) &&
	    !(ctx->flags & SHMKIT_KEYS_NOLOCK_OK))
		cli_errorf(ctx->cmd, "if the store's pages cannot be locked in "
				     "memory, raise 'ulimit -l' or use "
				     "--no-mlock");
	return CLI_EXIT_FAIL;
}

static int
open_store(const struct keys_ctx *ctx, unsigned flags, shmkit_keys_t **ks)
{
	int rc = shmkit_keys_open(ks, ctx->address, ctx->flags | flags);

	if (rc < 0) {
		if (rc == SHMKIT_ENOTOBJ)
			cli_errorf(ctx->cmd, "%s: not a key store", ctx->address);
		else
			open_error(ctx, rc);
		return -1;
	}
	return 0;
}

/* The status and time cells of a record. */
static const char *
status_name(shmkit_keys_status_t s)
{
	return s == SHMKIT_KEYS_REVOKED ? "revoked" : "valid";
}

static const char *
time_cell(int64_t ns, char *buf, size_t len)
{
	return fmt_time((time_t)(ns / 1000000000), buf, len);
}

/* ---- init ---------------------------------------------------------- */

static void
init_usage(void)
{
	printf("Usage: shmkit keys init [--capacity N] [--mode MODE] "
	       "[-a ADDRESS]\n\n"
	       "Create an empty key store for N records (default %d) and\n"
	       "print its address. It fails if ADDRESS exists.\n\n"
	       "Options:\n"
	       "  -c, --capacity N   records it can hold\n"
	       "  -m, --mode MODE    octal permissions (default 0600); think\n"
	       "                     twice: anyone who can read the store\n"
	       "                     reads every key in it\n\n"
	       "Examples:\n"
	       "  shmkit keys init\n"
	       "  shmkit keys -a sysv:0x4b4d init --capacity 100\n",
	       DEFAULT_CAPACITY);
}

/* A decimal capacity, 1..SHMKIT_KEYS_CAPACITY_MAX; -1 otherwise. */
static long
parse_capacity(const char *text)
{
	unsigned long v;
	char *end;

	if (text[0] < '0' || text[0] > '9')
		return -1;
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno != 0 || *end != '\0' || v < 1 ||
	    v > SHMKIT_KEYS_CAPACITY_MAX)
		return -1;
	return (long)v;
}

static int
keys_init(struct keys_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		COMMON_LONGOPTS,
		{ "capacity", required_argument, NULL, 'c' },
		{ "mode", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	long capacity = DEFAULT_CAPACITY, mode = 0600;
	char canon[SHMKIT_ADDR_STRLEN];
	shmkit_addr_t addr;
	shmkit_keys_t *ks;
	int c, rc, status;

	if (exact_long_names(ctx->cmd, argc, argv, longopts) != 0)
		return CLI_EXIT_USAGE;
	while ((c = next_opt(ctx, argc, argv, ":a:c:m:h", longopts, init_usage,
			      &status)) != -1) {
		switch (c) {
		case OPT_STOP:
			return status;
		case 'c':
			capacity = parse_capacity(optarg);
			if (capacity < 0)
				return cli_usage_error(
					ctx->cmd,
					"--capacity: '%s' is not a number "
					"from 1 to %lu",
					optarg,
					(unsigned long)SHMKIT_KEYS_CAPACITY_MAX);
			break;
		case 'm':
			mode = cli_parse_mode(ctx->cmd, optarg);
			if (mode < 0)
				return CLI_EXIT_USAGE;
			break;
		default:
			return cli_getopt_error(ctx->cmd, '?', argv);
		}
	}
	if (optind < argc)
		return cli_usage_error(ctx->cmd, "unexpected argument: '%s'",
				       argv[optind]);
	rc = shmkit_keys_create(&ks, ctx->address, (size_t)capacity,
				(mode_t)mode, ctx->flags);
	if (rc < 0)
		return open_error(ctx, rc);
	/* The canonical spelling, as 'shmkit mk' and 'chan create' print. */
	if (shmkit_addr_parse(&addr, ctx->address) < 0 ||
	    shmkit_addr_format(&addr, canon, sizeof(canon)) < 0)
		snprintf(canon, sizeof(canon), "%s", ctx->address);
	printf("%s\n", canon);
	shmkit_keys_close(ks);
	return CLI_EXIT_OK;
}

/* ---- put ----------------------------------------------------------- */

static void
put_usage(void)
{
	printf("Usage: shmkit keys put CLIENT SERVER --key-id N [--file FILE] "
	       "[--hex]\n\n"
	       "Store a key for (CLIENT, SERVER), status valid, replacing the\n"
	       "record there (its old key is zeroised; its created time is\n"
	       "kept). The key, 1 to %d bytes, is read from standard input or\n"
	       "FILE, never from the command line, where other users and the\n"
	       "shell history would see it. A terminal is refused: it would\n"
	       "echo the key. Raw input is stored byte for byte, a trailing\n"
	       "newline included: 'echo secret |' stores 7 bytes; use\n"
	       "'printf %%s secret |', a file without the newline, or --hex.\n\n"
	       "Options:\n"
	       "  -k, --key-id N   the key's id, 0 to 4294967295\n"
	       "  -f, --file FILE  read the key from FILE\n"
	       "  -x, --hex        the input is hex digits (whitespace\n"
	       "                   ignored), not raw bytes\n"
	       "  -a, --address ADDRESS, --no-mlock: see 'shmkit keys --help'\n\n"
	       "Examples:\n"
	       "  head -c 32 /dev/urandom | shmkit keys put alice srv1 "
	       "--key-id 7\n"
	       "  shmkit keys put bob srv1 --key-id 8 --file bob.key\n"
	       "  echo 00112233445566778899aabbccddeeff |\n"
	       "      shmkit keys put carol srv1 --key-id 9 --hex\n",
	       SHMKIT_KEYS_KEY_MAX);
}

/* A decimal key id, 0..UINT32_MAX; -1 otherwise. */
static long long
parse_key_id(const char *text)
{
	unsigned long long v;
	char *end;

	if (text[0] < '0' || text[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno != 0 || *end != '\0' || v > UINT32_MAX)
		return -1;
	return (long long)v;
}

static int
keys_put(struct keys_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		COMMON_LONGOPTS,
		{ "key-id", required_argument, NULL, 'k' },
		{ "file", required_argument, NULL, 'f' },
		{ "hex", no_argument, NULL, 'x' },
		{ NULL, 0, NULL, 0 },
	};
	const char *file = NULL;
	struct secret s;
	shmkit_keys_t *ks;
	long long key_id = -1;
	int c, rc, status, hex = 0;

	if (exact_long_names(ctx->cmd, argc, argv, longopts) != 0)
		return CLI_EXIT_USAGE;
	while ((c = next_opt(ctx, argc, argv, ":a:k:f:xh", longopts, put_usage,
			      &status)) != -1) {
		switch (c) {
		case OPT_STOP:
			return status;
		case 'k':
			key_id = parse_key_id(optarg);
			/* Not quoted, like every argument of put that a
			 * hurried user might have put a key into. */
			if (key_id < 0)
				return cli_usage_error(ctx->cmd,
						       "--key-id must be a "
						       "number from 0 to %lu",
						       (unsigned long)UINT32_MAX);
			break;
		case 'f':
			file = optarg;
			break;
		case 'x':
			hex = 1;
			break;
		default:
			return cli_getopt_error(ctx->cmd, '?', argv);
		}
	}
	rc = pair_operands(ctx, argc, argv);
	if (rc != 0)
		return rc;
	if (key_id < 0)
		return cli_usage_error(ctx->cmd, "missing --key-id");
	memset(&s, 0, sizeof(s));
	secret_lock(&s);
	rc = read_key(ctx->cmd, file, hex, &s);
	if (rc == 0 && open_store(ctx, 0, &ks) < 0)
		rc = CLI_EXIT_FAIL;
	if (rc == 0) {
		rc = shmkit_keys_put(ks, argv[optind], argv[optind + 1],
				     (uint32_t)key_id, s.key, s.len);
		shmkit_keys_close(ks);
		if (rc == -ENOSPC) {
			cli_errorf(ctx->cmd, "%s: the store is full", ctx->address);
			rc = CLI_EXIT_FAIL;
		} else {
			rc = rc < 0 ? store_error(ctx, rc) : CLI_EXIT_OK;
		}
	}
	secret_wipe(&s);
	return rc;
}

/* ---- get ----------------------------------------------------------- */

static void
get_usage(void)
{
	printf("Usage: shmkit keys get CLIENT SERVER [--reveal [--raw]]\n\n"
	       "Show the record of (CLIENT, SERVER): status, key id, key\n"
	       "length and times. The key itself is shown only with --reveal.\n"
	       "Exit status 1 if there is no such record.\n\n"
	       "Options:\n"
	       "      --reveal   also print the key, in hex\n"
	       "  -r, --raw      with --reveal: write only the key's raw bytes\n"
	       "                 to standard output\n"
	       "  -a, --address ADDRESS, --no-mlock: see 'shmkit keys --help'\n\n"
	       "Examples:\n"
	       "  shmkit keys get alice srv1\n"
	       "  shmkit keys get alice srv1 --reveal --raw > alice.key\n");
}

static int
keys_get(struct keys_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		COMMON_LONGOPTS,
		{ "reveal", no_argument, NULL, 'R' },
		{ "raw", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	struct {
		shmkit_keys_record_t rec;
		struct secret s;
	} buf;
	char t[64], esc[4 * SHMKIT_KEYS_ID_MAX + 1];
	int c, rc, status, show = 0, raw = 0, locked;
	shmkit_keys_t *ks;

	if (exact_long_names(ctx->cmd, argc, argv, longopts) != 0)
		return CLI_EXIT_USAGE;
	while ((c = next_opt(ctx, argc, argv, ":a:rh", longopts, get_usage,
			      &status)) != -1) {
		switch (c) {
		case OPT_STOP:
			return status;
		case 'R':
			show = 1;
			break;
		case 'r':
			raw = 1;
			break;
		default:
			return cli_getopt_error(ctx->cmd, '?', argv);
		}
	}
	rc = pair_operands(ctx, argc, argv);
	if (rc != 0)
		return rc;
	if (raw && !show)
		return cli_usage_error(ctx->cmd, "--raw writes the key: it "
						 "needs --reveal");
	if (open_store(ctx, SHMKIT_KEYS_RDONLY, &ks) < 0)
		return CLI_EXIT_FAIL;
	memset(&buf, 0, sizeof(buf));
	locked = mlock(&buf, sizeof(buf)) == 0;
	rc = shmkit_keys_get(ks, argv[optind], argv[optind + 1], &buf.rec);
	shmkit_keys_close(ks);
	if (rc == -ENOENT) {
		rc = no_key_error(ctx, argv);
	} else if (rc < 0) {
		rc = store_error(ctx, rc);
	} else if (raw) {
		rc = reveal(&buf.rec, 1, &buf.s);
	} else {
		printf("client:   %s\n",
		       fmt_escape(buf.rec.client, esc, sizeof(esc)));
		printf("server:   %s\n",
		       fmt_escape(buf.rec.server, esc, sizeof(esc)));
		printf("status:   %s\n", status_name(buf.rec.status));
		printf("key id:   %u\n", (unsigned)buf.rec.key_id);
		printf("key len:  %zu\n", buf.rec.key_len);
		printf("created:  %s\n", time_cell(buf.rec.created_ns, t,
						    sizeof(t)));
		printf("updated:  %s\n", time_cell(buf.rec.updated_ns, t,
						    sizeof(t)));
		rc = show ? reveal(&buf.rec, 0, &buf.s) : 0;
	}
	if (rc < 0) {
		cli_error(ctx->cmd, "standard output", rc);
		rc = CLI_EXIT_FAIL;
	}
	explicit_bzero(&buf, sizeof(buf));
	if (locked)
		munlock(&buf, sizeof(buf));
	return rc;
}

/* ---- del, revoke --------------------------------------------------- */

static void
del_usage(void)
{
	printf("Usage: shmkit keys del CLIENT SERVER\n\n"
	       "Remove the record of (CLIENT, SERVER); its key is zeroised in\n"
	       "the store. Exit status 1 if there is no such record.\n\n"
	       "Example:\n"
	       "  shmkit keys del alice srv1\n");
}

static void
revoke_usage(void)
{
	printf("Usage: shmkit keys revoke CLIENT SERVER\n\n"
	       "Mark the key of (CLIENT, SERVER) revoked: the record stays, so\n"
	       "services that read it learn not to use the key. 'put' makes a\n"
	       "new valid key. Exit status 1 if there is no such record.\n\n"
	       "Example:\n"
	       "  shmkit keys revoke alice srv1\n");
}

static int
keys_change(struct keys_ctx *ctx, int argc, char **argv, int revoke)
{
	static const struct option longopts[] = {
		COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	shmkit_keys_t *ks;
	int c, rc, status;

	if (exact_long_names(ctx->cmd, argc, argv, longopts) != 0)
		return CLI_EXIT_USAGE;
	c = next_opt(ctx, argc, argv, ":a:h", longopts,
		     revoke ? revoke_usage : del_usage, &status);
	if (c == OPT_STOP)
		return status;
	if (c != -1)
		return cli_getopt_error(ctx->cmd, '?', argv);
	rc = pair_operands(ctx, argc, argv);
	if (rc != 0)
		return rc;
	if (open_store(ctx, 0, &ks) < 0)
		return CLI_EXIT_FAIL;
	rc = revoke ? shmkit_keys_revoke(ks, argv[optind], argv[optind + 1]) :
		      shmkit_keys_del(ks, argv[optind], argv[optind + 1]);
	shmkit_keys_close(ks);
	if (rc == -ENOENT)
		return no_key_error(ctx, argv);
	if (rc < 0)
		return store_error(ctx, rc);
	if (rc == 1)
		fprintf(stderr, "shmkit %s: already revoked\n", ctx->cmd);
	return CLI_EXIT_OK;
}

/* ---- ls ------------------------------------------------------------ */

enum ls_col {
	LS_CLIENT,
	LS_SERVER,
	LS_STATUS,
	LS_KEYID,
	LS_KEYLEN,
	LS_CREATED,
	LS_UPDATED,
	LS_COUNT
};

static const struct {
	const char *name;
	int number;
} ls_cols[LS_COUNT] = {
	[LS_CLIENT] = { "CLIENT", 0 },   [LS_SERVER] = { "SERVER", 0 },
	[LS_STATUS] = { "STATUS", 0 },   [LS_KEYID] = { "KEYID", 1 },
	[LS_KEYLEN] = { "KEYLEN", 1 },   [LS_CREATED] = { "CREATED", 0 },
	[LS_UPDATED] = { "UPDATED", 0 },
};

static void
ls_usage(void)
{
	printf("Usage: shmkit keys ls [--json] [--raw] [--noheadings]\n\n"
	       "List the records of the store: ids, status, key id, key length\n"
	       "and times. Key bytes are never listed.\n\n"
	       "Options:\n"
	       "  -J, --json         JSON output\n"
	       "  -r, --raw          raw output (no alignment)\n"
	       "  -n, --noheadings   no header line\n"
	       "  -a, --address ADDRESS, --no-mlock: see 'shmkit keys --help'\n\n"
	       "Examples:\n"
	       "  shmkit keys ls\n"
	       "  shmkit keys -a sysv:0x4b4d ls --json\n");
}

/* One line of the table from a record (no key bytes: there is no column
 * for them). */
static int
ls_line(struct libscols_table *tb, const shmkit_keys_record_t *r)
{
	struct libscols_line *ln = scols_table_new_line(tb, NULL);
	char buf[LS_COUNT][64];
	int j;

	if (ln == NULL)
		return -ENOMEM;
	snprintf(buf[LS_CLIENT], sizeof(buf[0]), "%s", r->client);
	snprintf(buf[LS_SERVER], sizeof(buf[0]), "%s", r->server);
	snprintf(buf[LS_STATUS], sizeof(buf[0]), "%s", status_name(r->status));
	snprintf(buf[LS_KEYID], sizeof(buf[0]), "%u", (unsigned)r->key_id);
	snprintf(buf[LS_KEYLEN], sizeof(buf[0]), "%zu", r->key_len);
	time_cell(r->created_ns, buf[LS_CREATED], sizeof(buf[0]));
	time_cell(r->updated_ns, buf[LS_UPDATED], sizeof(buf[0]));
	for (j = 0; j < LS_COUNT; j++)
		if (scols_line_set_data(ln, (size_t)j, buf[j]) != 0)
			return -ENOMEM;
	return 0;
}

static int
keys_ls(struct keys_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		COMMON_LONGOPTS,
		{ "json", no_argument, NULL, 'J' },
		{ "raw", no_argument, NULL, 'r' },
		{ "noheadings", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	struct libscols_table *tb;
	shmkit_keys_record_t rec;
	int c, j, rc = 0, status, json = 0, raw = 0, noheadings = 0, bad = 0;
	int locked;
	size_t cursor = 0, before;
	shmkit_keys_t *ks;

	if (exact_long_names(ctx->cmd, argc, argv, longopts) != 0)
		return CLI_EXIT_USAGE;
	while ((c = next_opt(ctx, argc, argv, ":a:Jrnh", longopts, ls_usage,
			      &status)) != -1) {
		switch (c) {
		case OPT_STOP:
			return status;
		case 'J':
			json = 1;
			break;
		case 'r':
			raw = 1;
			break;
		case 'n':
			noheadings = 1;
			break;
		default:
			return cli_getopt_error(ctx->cmd, '?', argv);
		}
	}
	if (optind < argc)
		return cli_usage_error(ctx->cmd, "unexpected argument: '%s'",
				       argv[optind]);
	if (open_store(ctx, SHMKIT_KEYS_RDONLY, &ks) < 0)
		return CLI_EXIT_FAIL;
	rc = 0;
	tb = scols_new_table();
	if (tb == NULL) {
		shmkit_keys_close(ks);
		return store_error(ctx, -ENOMEM);
	}
	scols_table_set_name(tb, "keys");
	scols_table_enable_json(tb, json);
	scols_table_enable_raw(tb, raw);
	scols_table_enable_noheadings(tb, noheadings);
	for (j = 0; j < LS_COUNT && rc == 0; j++) {
		struct libscols_column *cl = scols_table_new_column(
			tb, ls_cols[j].name, 0,
			ls_cols[j].number ? SCOLS_FL_RIGHT : 0);

		if (cl == NULL)
			rc = -ENOMEM;
		else if (ls_cols[j].number)
			scols_column_set_json_type(cl, SCOLS_JSON_NUMBER);
	}
	/* The library copies whole records, key bytes too: keep them in
	 * locked memory, and wipe each as soon as its line is made. */
	memset(&rec, 0, sizeof(rec));
	locked = mlock(&rec, sizeof(rec)) == 0;
	while (rc == 0) {
		before = cursor;
		rc = shmkit_keys_next(ks, &cursor, &rec);
		if (rc == SHMKIT_ECORRUPT && cursor != before) {
			/* Report it and go on to the sound records. */
			cli_errorf(ctx->cmd, "%s: a record is corrupt; skipped",
				   ctx->address);
			bad = 1;
			rc = 0;
			continue;
		}
		if (rc == 0)
			rc = ls_line(tb, &rec);
		shmkit_keys_record_zero(&rec);
	}
	if (locked)
		munlock(&rec, sizeof(rec));
	shmkit_keys_close(ks);
	if (rc == -ENOENT)
		rc = scols_print_table(tb);
	scols_unref_table(tb);
	if (rc < 0)
		return store_error(ctx, rc);
	return bad ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

/* ---- the command --------------------------------------------------- */

static const struct {
	const char *name;
	int (*run)(struct keys_ctx *ctx, int argc, char **argv);
} subcommands[] = {
	{ "init", keys_init }, { "put", keys_put }, { "get", keys_get },
	{ "ls", keys_ls },     { NULL, NULL },
};

int
cmd_keys(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "address", required_argument, NULL, 'a' },
		{ "no-mlock", no_argument, NULL, OPT_NO_MLOCK },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct keys_ctx ctx = { DEFAULT_ADDRESS, 0, "keys" };
	char cmd[32];
	const char *name;
	int c, i;

	/* Before any key byte is read or mapped: no core dump of this
	 * process, and no ptrace or /proc/PID/mem by the same user. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		cli_errorf("keys", "cannot make the process non-dumpable: %s",
			   shmkit_strerror(-errno));

	/* Check the options before COMMAND (its own are checked later). */
	for (i = 1; i < argc && argv[i][0] == '-'; i++)
		if (strcmp(argv[i], "-a") == 0 ||
		    strcmp(argv[i], "--address") == 0)
			i++;
	if (exact_long_names("keys", i < argc ? i : argc, argv, longopts) != 0)
		return CLI_EXIT_USAGE;
	/* '+': stop at the subcommand, whose options are its own. */
	while ((c = getopt_long(argc, argv, "+:a:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			ctx.address = optarg;
			break;
		case OPT_NO_MLOCK:
			ctx.flags |= SHMKIT_KEYS_NOLOCK_OK;
			break;
		case 'h':
			keys_usage();
			return CLI_EXIT_OK;
		default:
			return cli_getopt_error("keys", c, argv);
		}
	}
	if (optind >= argc)
		return cli_usage_error("keys", "missing COMMAND");
	name = argv[optind];
	argc -= optind;
	argv += optind;
	optind = 0; /* glibc: restart getopt for the subcommand */
	snprintf(cmd, sizeof(cmd), "keys %s", name);
	ctx.cmd = cmd;
	if (strcmp(name, "del") == 0 || strcmp(name, "revoke") == 0)
		return keys_change(&ctx, argc, argv, name[0] == 'r');
	for (i = 0; subcommands[i].name != NULL; i++)
		if (strcmp(subcommands[i].name, name) == 0)
			return subcommands[i].run(&ctx, argc, argv);
	return cli_usage_error("keys", "unknown command '%s'", name);
}
