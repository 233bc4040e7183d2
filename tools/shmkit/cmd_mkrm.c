/*
 * shmkit mk and shmkit rm: create and remove segments by address, in the
 * manner of ipcmk(1) and ipcrm(1). rm reports each failure and carries on,
 * and says plainly when a System V segment only goes once its last user
 * detaches.
 */
#include "cli.h"
#include "fmt.h"
#include "objects.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <shmkit/shmkit.h>

static void
mk_usage(void)
{
	printf("Usage: shmkit mk ADDRESS --size SIZE [--mode MODE] [--excl]\n\n"
	       "Create a shared memory segment and print its address.\n"
	       "ADDRESS is sysv:KEY, ftok:PATH:PROJ, posix:/NAME, /NAME or\n"
	       "file:PATH; a bare 'sysv' picks a free random key, as\n"
	       "ipcmk -M does.\n\n"
	       "Options:\n"
	       "  -s, --size SIZE   size in bytes; K, M, G suffixes are\n"
	       "                    powers of 1024, KB, MB, GB of 1000\n"
	       "  -m, --mode MODE   octal permissions (default 0600)\n"
	       "  -x, --excl        fail if it exists (default: an existing\n"
	       "                    segment of at least SIZE is accepted\n"
	       "                    if it is yours, with MODE)\n"
	       "  -h, --help        this help\n\n"
	       "Examples:\n"
	       "  shmkit mk sysv --size 1M\n"
	       "  shmkit mk posix:/frames --size 64K --mode 0640 --excl\n");
}

/* A free System V key: random, never IPC_PRIVATE, retried on EEXIST. */
static int
mk_random_sysv(const shmkit_seg_opts_t *opts, char *addr, size_t len)
{
	shmkit_seg_t *seg;
	unsigned key;
	int tries, rc = -EEXIST;

	for (tries = 0; tries < 100 && rc == -EEXIST; tries++) {
		if (getrandom(&key, sizeof(key), 0) != sizeof(key))
			return -EIO;
		if (key == 0)
			continue;
		snprintf(addr, len, "sysv:0x%08x", key);
		rc = shmkit_seg_create(&seg, addr, opts);
		if (rc == 0)
			shmkit_seg_close(seg);
	}
	return rc;
}

/*
 * mk without --excl takes an existing segment as made only when it is
 * what mk would have made: ours, with the mode asked for. Anything else
 * (someone else's, or world-writable where 0600 was asked) is reported,
 * not handed back as if it were new. Returns 1 when it is ours.
 */
static int
existing_is_ours(const char *address, const shmkit_seg_stat_t *st, mode_t mode)
{
	if (st->uid != geteuid()) {
		cli_errorf("mk",
			   "%s: already exists, owned by uid %u, not by "
			   "you: remove it first, or use another name",
			   address, (unsigned)st->uid);
		return 0;
	}
	if ((st->mode & 07777) != mode) {
		cli_errorf("mk",
			   "%s: already exists with mode %04o, not the "
			   "%04o asked for: remove it first, or ask for "
			   "--mode %04o",
			   address, (unsigned)(st->mode & 07777),
			   (unsigned)mode, (unsigned)(st->mode & 07777));
		return 0;
	}
	return 1;
}

int
cmd_mk(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "mode", required_argument, NULL, 'm' },
		{ "excl", no_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	shmkit_seg_opts_t opts = { .mode = 0600 };
	char addr[SHMKIT_ADDR_STRLEN];
	shmkit_seg_stat_t st;
	shmkit_addr_t parsed;
	unsigned long long size = 0;
	shmkit_seg_t *seg;
	int c, rc, stat_rc, excl = 0, have_size = 0;
	long mode;

	while ((c = getopt_long(argc, argv, ":s:m:xh", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (fmt_parse_size(optarg, &size) < 0 || size == 0)
				return cli_usage_error("mk", "invalid size: '%s'",
						       optarg);
			have_size = 1;
			break;
		case 'm':
			mode = cli_parse_mode("mk", optarg);
			if (mode < 0)
				return CLI_EXIT_USAGE;
			opts.mode = (mode_t)mode;
			break;
		case 'x':
			excl = 1;
			break;
		case 'h':
			mk_usage();
			return CLI_EXIT_OK;
		default:
			return cli_getopt_error("mk", c, argv);
		}
	}
	if (optind != argc - 1)
		return cli_usage_error("mk", optind < argc ?
						     "one ADDRESS, please" :
						     "missing ADDRESS");
	if (!have_size)
		return cli_usage_error("mk", "missing --size");
	if (size > (unsigned long long)SIZE_MAX / 2)
		return cli_usage_error("mk", "size too large");
	opts.size = (size_t)size;

	if (strcmp(argv[optind], "sysv") == 0) {
		rc = mk_random_sysv(&opts, addr, sizeof(addr));
		if (rc < 0) {
			cli_error("mk", "sysv", rc);
			return CLI_EXIT_FAIL;
		}
		printf("%s\n", addr);
		return CLI_EXIT_OK;
	}
	if (strncmp(argv[optind], "memfd:", 6) == 0) {
		/* It would vanish as this command exits: say so, do nothing. */
		cli_errorf("mk", "%s: a memfd has no name to create it under; "
				 "it lives only as long as its processes",
			   argv[optind]);
		return CLI_EXIT_FAIL;
	}
	if (shmkit_addr_parse(&parsed, argv[optind]) == 0 &&
	    parsed.kind == SHMKIT_ADDR_SYSV_ID) {
		cli_errorf("mk",
			   "%s: the kernel gives ids to new segments: "
			   "name a key (sysv:KEY), or give 'sysv' for "
			   "an unused one",
			   argv[optind]);
		return CLI_EXIT_FAIL;
	}
	rc = excl ? shmkit_seg_create(&seg, argv[optind], &opts) :
		    shmkit_seg_open_or_create(&seg, argv[optind], &opts);
	if (rc < 0) {
		cli_addr_error("mk", argv[optind], rc);
		return CLI_EXIT_FAIL;
	}
	stat_rc = shmkit_seg_stat(seg, &st);
	if (rc == SHMKIT_SEG_OPENED) {
		/* An existing segment is handed back only once checked. */
		if (stat_rc < 0)
			cli_addr_error("mk", argv[optind], stat_rc);
		if (stat_rc < 0 ||
		    !existing_is_ours(argv[optind], &st, opts.mode)) {
			shmkit_seg_close(seg);
			return CLI_EXIT_FAIL;
		}
	}
	printf("%s\n", stat_rc == 0 ? st.address : argv[optind]);
	if (rc == SHMKIT_SEG_OPENED)
		fprintf(stderr, "shmkit mk: %s already existed (%zu bytes)\n",
			argv[optind], shmkit_seg_size(seg));
	shmkit_seg_close(seg);
	return CLI_EXIT_OK;
}

static void
rm_usage(void)
{
	printf("Usage: shmkit rm ADDRESS...\n"
	       "       shmkit rm --stale [--dry-run] [ADDRESS...]\n\n"
	       "Remove shared memory segments by address: sysv:KEY,\n"
	       "sysv-id:ID, ftok:PATH:PROJ, posix:/NAME, /NAME, file:PATH.\n"
	       "Each failure is reported and the rest are still removed;\n"
	       "the exit status is 1 if any failed.\n\n"
	       "A System V segment that processes still attach is marked for\n"
	       "destruction: it loses its key at once and is freed when the\n"
	       "last one detaches. POSIX objects and files lose their name;\n"
	       "processes that map them keep the memory until they unmap.\n\n"
	       "With --stale, remove every shmkit object (channel, table, key\n"
	       "store; never a segment without a shmkit header) that no living\n"
	       "process uses and that holds no data: nobody attaches or maps\n"
	       "it, its creator is dead, no peer registered in a channel is\n"
	       "alive, and it is empty (a channel without pending messages, a\n"
	       "table or key store without records), or was left half made by\n"
	       "its creator, or is corrupt. Objects that hold data are kept\n"
	       "(shmkit ls shows them as idle): remove those by name. With\n"
	       "ADDRESSes, only those are considered. One line is printed per\n"
	       "object removed.\n\n"
	       "Options:\n"
	       "      --stale     remove shmkit objects nobody uses\n"
	       "  -n, --dry-run   with --stale: only say what would go\n"
	       "  -h, --help      this help\n\n"
	       "Examples:\n"
	       "  shmkit rm sysv:0x44 sysv-id:32769 /frames\n"
	       "  shmkit rm --stale --dry-run\n");
}

/*
 * Removes o if it is still stale when looked at again just before the
 * removal, which narrows the race with a process opening it to that
 * instant. Returns 1 removed (or would be), 0 kept, -1 failed.
 */
static int
rm_stale_one(const struct obj *o, int dry_run, int named, const char *arg)
{
	char addr[SHMKIT_ADDR_STRLEN], why[96];
	const char *reason;
	struct obj now;
	int rc;

	if (o->type == OBJ_SYSV)
		snprintf(addr, sizeof(addr), "sysv-id:%d", o->id);
	else
		snprintf(addr, sizeof(addr), "%s", o->address);
	reason = objects_keep_reason(o, NULL, why, sizeof(why));
	if (reason == NULL && !dry_run) {
		rc = objects_find(addr, 1, &now);
		if (rc == -ENOENT || rc == -EINVAL)
			return 0; /* gone meanwhile */
		reason = rc < 0 ? "it cannot be looked at again" :
				  objects_keep_reason(&now, NULL, why, sizeof(why));
	}
	if (reason != NULL) {
		if (named)
			cli_errorf("rm", "%s: kept: %s", arg, reason);
		return 0;
	}
	if (!dry_run) {
		rc = shmkit_seg_unlink_address(addr);
		if (rc < 0) {
			cli_addr_error("rm", o->address, rc);
			return -1;
		}
	}
	printf("%s %s (%s)\n", dry_run ? "would remove" : "removed",
	       o->address, o->kind);
	return 1;
}

static int
rm_stale(char **addrs, int n, int dry_run)
{
	struct obj *objs = NULL, one;
	size_t i, count = 0;
	int rc, failed = 0;

	if (n > 0) {
		for (i = 0; i < (size_t)n; i++) {
			rc = objects_find(addrs[i], 1, &one);
			if (rc < 0) {
				cli_addr_error("rm", addrs[i], rc);
				failed = 1;
				continue;
			}
			if (rm_stale_one(&one, dry_run, 1, addrs[i]) < 0)
				failed = 1;
		}
		return failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
	}
	rc = objects_list(OBJ_WANT_SHMKIT | OBJ_PROBE_SYSV, &objs, &count);
	if (rc < 0) {
		cli_error("rm", NULL, rc);
		return CLI_EXIT_FAIL;
	}
	for (i = 0; i < count; i++)
		if (rm_stale_one(&objs[i], dry_run, 0, NULL) < 0)
			failed = 1;
	free(objs);
	return failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

int
cmd_rm(int argc, char **argv)
{
	enum { OPT_STALE = 0x100 };
	static const struct option longopts[] = {
		{ "stale", no_argument, NULL, OPT_STALE },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, i, failed = 0, stale = 0, dry_run = 0;

	while ((c = getopt_long(argc, argv, ":nh", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_STALE:
			stale = 1;
			break;
		case 'n':
			dry_run = 1;
			break;
		case 'h':
			rm_usage();
			return CLI_EXIT_OK;
		default:
			return cli_getopt_error("rm", c, argv);
		}
	}
	if (dry_run && !stale)
		return cli_usage_error("rm", "--dry-run goes with --stale");
	if (stale)
		return rm_stale(argv + optind, argc - optind, dry_run);
	if (optind == argc)
		return cli_usage_error("rm", "missing ADDRESS");
	for (i = optind; i < argc; i++) {
		struct obj before;
		int known, rc;

		/* Who still maps it, to explain a System V removal. */
		known = objects_find(argv[i], 0, &before) == 0;
		rc = shmkit_seg_unlink_address(argv[i]);
		if (rc < 0) {
			cli_addr_error("rm", argv[i], rc);
			failed = 1;
			continue;
		}
		if (known && before.type == OBJ_SYSV && before.nattch > 0)
			printf("%s: marked for destruction; freed when the "
			       "last of %ld attached process%s detaches\n",
			       argv[i], before.nattch,
			       before.nattch == 1 ? "" : "es");
	}
	return failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}
