/*
 * shmkit ls: every shared-memory object on the host in one table, in the
 * manner of lsipc(1): System V segments, POSIX objects and semaphores, and
 * shmkit's own structured objects with their health. Output goes through
 * libsmartcols, the library lsipc uses, for the table, --raw and --json;
 * it also escapes control bytes in names (\xHH, or \uXXXX in JSON), so
 * cells are handed to it raw.
 */
#include "cli.h"
#include "fmt.h"
#include "objects.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libsmartcols.h>

enum col_id {
	COL_TYPE,
	COL_ADDRESS,
	COL_KEY,
	COL_ID,
	COL_NAME,
	COL_PERMS,
	COL_MODE,
	COL_OWNER,
	COL_UID,
	COL_SIZE,
	COL_NATTCH,
	COL_STATUS,
	COL_CTIME,
	COL_MTIME,
	COL_CPID,
	COL_LPID,
	COL_COMMAND,
	COL_KIND,
	COL_VERSION,
	COL_HEALTH,
	COL_PIDS,
	COL_PATTERN,
	COL_PEERS,
	COL_PEERLIST,
	COL_COUNT
};

#define COL_NUM 0x1u   /* right-aligned; a JSON number */
#define COL_TRUNC 0x2u /* may be truncated in a narrow terminal */

/* The columns, in enum order: name (also the header), flags, help. */
static const struct column {
	const char *name;
	unsigned flags;
	const char *help;
} columns[COL_COUNT] = {
	[COL_TYPE] = { "TYPE", 0, "sysv, posix or sem" },
	[COL_ADDRESS] = { "ADDRESS", 0, "shmkit address of the object" },
	[COL_KEY] = { "KEY", 0, "System V key" },
	[COL_ID] = { "ID", COL_NUM, "System V id" },
	[COL_NAME] = { "NAME", COL_TRUNC, "POSIX name" },
	[COL_PERMS] = { "PERMS", 0, "permissions (rw-------)" },
	[COL_MODE] = { "MODE", 0, "permissions in octal, as ipcs (600)" },
	[COL_OWNER] = { "OWNER", 0, "owner's user name" },
	[COL_UID] = { "UID", COL_NUM, "owner's user id" },
	[COL_SIZE] = { "SIZE", COL_NUM, "size (bytes with --bytes)" },
	[COL_NATTCH] = { "NATTCH", COL_NUM,
			 "attached processes (POSIX: processes mapping it)" },
	[COL_STATUS] = { "STATUS", 0, "System V: dest, locked" },
	[COL_CTIME] = { "CTIME", 0, "last change" },
	[COL_MTIME] = { "MTIME", 0, "last modification (POSIX)" },
	[COL_CPID] = { "CPID", COL_NUM, "creator pid (System V)" },
	[COL_LPID] = { "LPID", COL_NUM, "last attach/detach pid (System V)" },
	[COL_COMMAND] = { "COMMAND", COL_TRUNC,
			  "creator's command (POSIX: a mapping process's)" },
	[COL_KIND] = { "KIND", 0, "shmkit object kind (chan, table, keys)" },
	[COL_VERSION] = { "VERSION", COL_NUM,
			  "shmkit object layout version" },
	[COL_HEALTH] = { "HEALTH", 0,
			 "shmkit objects: ok, idle, orphaned, corrupt, "
			 "broken, incompatible" },
	[COL_PIDS] = { "PIDS", COL_TRUNC, "processes that map it" },
	[COL_PATTERN] = { "PATTERN", 0, "channels: spsc, mpmc or broadcast" },
	[COL_PEERS] = { "PEERS", 0,
			"channels: peers alive/registered (1/2)" },
	[COL_PEERLIST] = { "PEERLIST", COL_TRUNC,
			   "channels: each peer as PID:ROLE:STATE" },
};

static const enum col_id default_cols[] = {
	COL_TYPE, COL_ADDRESS, COL_PERMS,   COL_OWNER, COL_SIZE,   COL_NATTCH,
	COL_STATUS, COL_CPID, COL_COMMAND, COL_KIND,  COL_HEALTH, COL_PEERS,
};

struct ls_opts {
	enum col_id cols[COL_COUNT * 2];
	size_t ncols;
	int json, raw, noheadings, bytes;
	unsigned want;
};

static void
usage(void)
{
	size_t i;

	printf("Usage: shmkit ls [OPTIONS]\n\n"
	       "List every shared-memory object on the host: System V\n"
	       "segments, POSIX objects and semaphores, and shmkit objects.\n\n"
	       "Options:\n"
	       "  -t, --type TYPE       only sysv, posix or shmkit objects\n"
	       "                        (may repeat or be comma-separated)\n"
	       "  -o, --output COLS     columns to show (comma-separated;\n"
	       "                        +COL adds to the default set)\n"
	       "  -J, --json            JSON output\n"
	       "  -r, --raw             raw output (no alignment; not with "
	       "-J)\n"
	       "  -n, --noheadings      no header line\n"
	       "  -b, --bytes           sizes in bytes\n"
	       "      --probe           attach System V segments read-only to\n"
	       "                        look for shmkit objects (changes "
	       "their\n"
	       "                        attach time and LPID)\n"
	       "  -h, --help            this help\n\n"
	       "Columns:\n");
	for (i = 0; i < COL_COUNT; i++)
		printf("  %8s  %s\n", columns[i].name, columns[i].help);
	printf("\nExamples:\n"
	       "  shmkit ls\n"
	       "  shmkit ls -t sysv -o KEY,ID,PERMS,OWNER,SIZE,NATTCH,STATUS\n"
	       "  shmkit ls --json -b\n");
}

static int
col_by_name(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < COL_COUNT; i++) {
		if (strlen(columns[i].name) == len &&
		    strncasecmp(columns[i].name, name, len) == 0)
			return (int)i;
	}
	return -1;
}

static int
parse_columns(struct ls_opts *o, const char *list)
{
	const char *p = list;

	if (*p == '+')
		p++; /* extend the defaults, which are already in o->cols */
	else
		o->ncols = 0;
	while (*p != '\0') {
		size_t len = strcspn(p, ",");
		int c = col_by_name(p, len);

		if (c < 0)
			return cli_usage_error("ls", "unknown column: '%.*s'",
					       (int)len, p);
		if (o->ncols == sizeof(o->cols) / sizeof(o->cols[0]))
			return cli_usage_error("ls", "too many columns");
		o->cols[o->ncols++] = (enum col_id)c;
		p += len;
		if (*p == ',')
			p++;
	}
	if (o->ncols == 0)
		return cli_usage_error("ls", "no columns given");
	return 0;
}

static int
parse_types(struct ls_opts *o, const char *list)
{
	const char *p = list;

	while (*p != '\0') {
		size_t len = strcspn(p, ",");

		if (len == 4 && strncmp(p, "sysv", 4) == 0)
			o->want |= OBJ_WANT_SYSV;
		else if (len == 5 && strncmp(p, "posix", 5) == 0)
			o->want |= OBJ_WANT_POSIX;
		else if (len == 6 && strncmp(p, "shmkit", 6) == 0)
			o->want |= OBJ_WANT_SHMKIT;
		else
			return cli_usage_error("ls",
					       "unknown type: '%.*s' (use sysv, "
					       "posix or shmkit)",
					       (int)len, p);
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* The text of one cell; "" for a value the object does not have. */
static const char *
cell(const struct obj *ob, enum col_id c, const struct ls_opts *o, char *buf,
     size_t len)
{
	size_t n = 0;
	int i;

	buf[0] = '\0';
	switch (c) {
	case COL_TYPE:
		return obj_type_name(ob->type);
	case COL_ADDRESS:
		return ob->address;
	case COL_KEY:
		if (ob->type == OBJ_SYSV)
			snprintf(buf, len, "0x%08llx", ob->key);
		return buf;
	case COL_ID:
		if (ob->id >= 0)
			snprintf(buf, len, "%d", ob->id);
		return buf;
	case COL_NAME:
		return ob->name;
	case COL_PERMS:
		return fmt_perms(ob->perms, buf);
	case COL_MODE:
		snprintf(buf, len, "%o", (unsigned)ob->perms);
		return buf;
	case COL_OWNER:
		return fmt_user(ob->uid, buf, len);
	case COL_UID:
		snprintf(buf, len, "%u", (unsigned)ob->uid);
		return buf;
	case COL_SIZE:
		return fmt_size(ob->size, o->bytes, buf, len);
	case COL_NATTCH:
		snprintf(buf, len, "%ld", ob->nattch);
		return buf;
	case COL_STATUS:
		snprintf(buf, len, "%s%s%s", ob->dest ? "dest" : "",
			 ob->dest && ob->locked ? "," : "",
			 ob->locked ? "locked" : "");
		return buf;
	case COL_CTIME:
		return fmt_time(ob->ctime, buf, len);
	case COL_MTIME:
		return ob->type == OBJ_SYSV ? buf : fmt_time(ob->mtime, buf, len);
	case COL_CPID:
		if (ob->cpid > 0)
			snprintf(buf, len, "%d", (int)ob->cpid);
		return buf;
	case COL_LPID:
		if (ob->lpid >= 0 && ob->type == OBJ_SYSV)
			snprintf(buf, len, "%d", (int)ob->lpid);
		return buf;
	case COL_COMMAND:
		if (ob->cpid > 0)
			return obj_pid_comm(ob->cpid, buf, len);
		if (ob->npids > 0)
			return obj_pid_comm(ob->pids[0], buf, len);
		return buf;
	case COL_KIND:
		return ob->kind;
	case COL_VERSION:
		if (ob->kind[0] != '\0')
			snprintf(buf, len, "%u", ob->version);
		return buf;
	case COL_HEALTH:
		return ob->health;
	case COL_PIDS:
		for (i = 0; i < ob->npids && n + 12 < len; i++)
			n += (size_t)snprintf(buf + n, len - n, "%s%d",
					      i ? "," : "", (int)ob->pids[i]);
		return buf;
	case COL_PATTERN:
		if (ob->chan_ok)
			return shmkit_chan_pattern_name(ob->chan.pattern);
		return buf;
	case COL_PEERS:
		if (ob->chan_ok)
			snprintf(buf, len, "%d/%u", ob->chan_alive,
				 ob->chan.peers);
		else if (strcmp(ob->kind, "chan") == 0)
			snprintf(buf, len, "?"); /* unreadable or corrupt */
		return buf;
	case COL_PEERLIST:
		for (i = 0; ob->chan_ok && i < ob->chan_npeers && n + 40 < len;
		     i++) {
			const shmkit_chan_peer_info_t *p = &ob->chan_peers[i];

			n += (size_t)snprintf(
				buf + n, len - n, "%s%d:%s:%s", i ? "," : "",
				p->pid,
				p->role == SHMKIT_CHAN_PRODUCER ? "producer" :
								  "consumer",
				p->alive > 0  ? "alive" :
				p->alive == 0 ? "dead" :
						"unknown");
		}
		if (ob->chan_ok && (unsigned)ob->chan_npeers < ob->chan.peers &&
		    n + 4 < len)
			snprintf(buf + n, len - n, ",...");
		return buf;
	case COL_COUNT:
		break;
	}
	return buf;
}

static int
print_table(const struct obj *objs, size_t count, const struct ls_opts *o)
{
	struct libscols_table *tb = scols_new_table();
	char buf[SHMKIT_ADDR_STRLEN * 4 + 16];
	size_t i, j;
	int rc = 0;

	if (tb == NULL)
		return -ENOMEM;
	scols_table_enable_json(tb, o->json);
	scols_table_set_name(tb, "shmkit");
	scols_table_enable_raw(tb, o->raw);
	scols_table_enable_noheadings(tb, o->noheadings);
	for (j = 0; j < o->ncols && rc == 0; j++) {
		const struct column *c = &columns[o->cols[j]];
		int fl = (c->flags & COL_NUM) ? SCOLS_FL_RIGHT : 0;
		struct libscols_column *cl;

		fl |= (c->flags & COL_TRUNC) ? SCOLS_FL_TRUNC : 0;
		cl = scols_table_new_column(tb, c->name, 0, fl);
		if (cl == NULL)
			rc = -ENOMEM;
		else if (c->flags & COL_NUM &&
			 (o->cols[j] != COL_SIZE || o->bytes))
			scols_column_set_json_type(cl, SCOLS_JSON_NUMBER);
	}
	for (i = 0; i < count && rc == 0; i++) {
		struct libscols_line *ln = scols_table_new_line(tb, NULL);

		if (ln == NULL) {
			rc = -ENOMEM;
			break;
		}
		for (j = 0; j < o->ncols; j++) {
			const char *s = cell(&objs[i], o->cols[j], o, buf,
					     sizeof(buf));

			/* JSON numbers must not be empty strings. */
			if (*s == '\0' && o->json &&
			    (columns[o->cols[j]].flags & COL_NUM))
				continue;
			if (scols_line_set_data(ln, j, s) != 0) {
				rc = -ENOMEM;
				break;
			}
		}
	}
	if (rc == 0)
		rc = scols_print_table(tb);
	scols_unref_table(tb);
	return rc;
}

int
cmd_ls(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "type", required_argument, NULL, 't' },
		{ "output", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'J' },
		{ "raw", no_argument, NULL, 'r' },
		{ "noheadings", no_argument, NULL, 'n' },
		{ "bytes", no_argument, NULL, 'b' },
		{ "probe", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ls_opts o = { 0 };
	struct obj *objs = NULL;
	size_t count = 0;
	int c, rc, probe = 0;

	memcpy(o.cols, default_cols, sizeof(default_cols));
	o.ncols = sizeof(default_cols) / sizeof(default_cols[0]);
	while ((c = getopt_long(argc, argv, ":t:o:Jrnbh", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 't':
			if (parse_types(&o, optarg) != 0)
				return CLI_EXIT_USAGE;
			break;
		case 'o':
			if (parse_columns(&o, optarg) != 0)
				return CLI_EXIT_USAGE;
			break;
		case 'J':
			o.json = 1;
			break;
		case 'r':
			o.raw = 1;
			break;
		case 'n':
			o.noheadings = 1;
			break;
		case 'b':
			o.bytes = 1;
			break;
		case 'P':
			probe = 1;
			break;
		case 'h':
			usage();
			return CLI_EXIT_OK;
		default:
			return cli_getopt_error("ls", c, argv);
		}
	}
	if (optind < argc)
		return cli_usage_error("ls", "unexpected argument: '%s'",
				       argv[optind]);
	if (o.json && o.raw)
		return cli_usage_error("ls", "--json or --raw, not both");
	if (o.want == 0)
		o.want = OBJ_WANT_SYSV | OBJ_WANT_POSIX;
	if (probe)
		o.want |= OBJ_PROBE_SYSV;
	rc = objects_list(o.want, &objs, &count);
	if (rc == 0)
		rc = print_table(objs, count, &o);
	free(objs);
	if (rc < 0) {
		cli_error("ls", NULL, rc);
		return CLI_EXIT_FAIL;
	}
	return CLI_EXIT_OK;
}
