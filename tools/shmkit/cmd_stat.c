/*
 * shmkit stat: everything known about one object: what the kernel says
 * (through the library for files, /proc for System V and POSIX objects, so
 * an operator can inspect segments they may not read), who maps it, and
 * for shmkit objects what their header says.
 */
#include "cli.h"
#include "fmt.h"
#include "objects.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <shmkit/shmkit.h>

static void
usage(void)
{
	printf("Usage: shmkit stat ADDRESS [--json]\n\n"
	       "Show everything known about one shared memory object: size,\n"
	       "permissions, owner and creator, attach count and the processes\n"
	       "that map it, times, System V status, for shmkit objects\n"
	       "their kind and health, and for channels each registered peer\n"
	       "and whether it is alive. System V segments are attached\n"
	       "read-only for a moment to look for a shmkit header.\n\n"
	       "Options:\n"
	       "  -J, --json   JSON output\n"
	       "  -h, --help   this help\n\n"
	       "Examples:\n"
	       "  shmkit stat sysv:0x44\n"
	       "  shmkit stat /frames --json\n");
}

/* Fills an obj from the library's stat (file: addresses). */
static int
stat_file(const char *address, struct obj *o)
{
	shmkit_seg_stat_t st;
	int rc = shmkit_seg_stat_address(address, &st);

	if (rc < 0)
		return rc;
	memset(o, 0, sizeof(*o));
	o->type = OBJ_POSIX; /* shown as its backend name below */
	snprintf(o->address, sizeof(o->address), "%s", st.address);
	o->key = -1;
	o->id = -1;
	o->perms = st.mode;
	o->uid = st.uid;
	o->gid = st.gid;
	o->cuid = (uid_t)-1;
	o->size = st.size;
	o->nattch = -1;
	o->cpid = o->lpid = -1;
	o->creator_alive = -1;
	o->atime = st.atime.tv_sec;
	o->mtime = st.mtime.tv_sec;
	o->ctime = st.ctime.tv_sec;
	return 0;
}

struct field_printer {
	int json, first;
};

static void
field_str(struct field_printer *fp, const char *name, const char *value)
{
	if (fp->json) {
		printf("%s\n   ", fp->first ? "{" : ",");
		fmt_json_string(stdout, name);
		printf(": ");
		fmt_json_string(stdout, value);
	} else {
		printf("%-10s %s\n", name, value);
	}
	fp->first = 0;
}

static void
field_num(struct field_printer *fp, const char *name, long long value)
{
	char buf[32];

	if (fp->json) {
		printf("%s\n   ", fp->first ? "{" : ",");
		fmt_json_string(stdout, name);
		printf(": %lld", value);
		fp->first = 0;
	} else {
		snprintf(buf, sizeof(buf), "%lld", value);
		field_str(fp, name, buf);
	}
}

/* A channel's peers: one "peer" line each, or a JSON array. */
static void
print_peers(struct field_printer *fp, const struct obj *o)
{
	char a[128], b[256], c[64];
	int i;

	snprintf(b, sizeof(b), "%u registered, %d alive", o->chan.peers,
		 o->chan_alive);
	if (fp->json) {
		field_num(fp, "peers-alive", o->chan_alive);
		printf(",\n   \"peers\": [");
	} else {
		field_str(fp, "peers", b);
	}
	for (i = 0; i < o->chan_npeers; i++) {
		const shmkit_chan_peer_info_t *p = &o->chan_peers[i];
		const char *role = p->role == SHMKIT_CHAN_PRODUCER ?
					   "producer" :
					   "consumer";
		const char *comm = p->alive > 0 ?
					   fmt_escape(obj_pid_comm(p->pid, c,
								   sizeof(c)),
						      a, sizeof(a)) :
					   "";

		if (fp->json) {
			printf("%s\n    {\"index\": %u, \"role\": \"%s\", "
			       "\"pid\": %d, \"alive\": %s, \"command\": ",
			       i ? "," : "", p->index, role, p->pid,
			       p->alive > 0	? "true" :
			       p->alive == 0 ? "false" :
						 "null");
			fmt_json_string(stdout, comm);
			printf("}");
			continue;
		}
		snprintf(b, sizeof(b), "%u %s %d%s%s%s %s", p->index, role,
			 p->pid, *comm ? "(" : "", comm, *comm ? ")" : "",
			 p->alive > 0	? "alive" :
			 p->alive == 0 ? "dead" :
					 "unknown");
		field_str(fp, "peer", b);
	}
	if (fp->json)
		printf("%s]", o->chan_npeers ? "\n   " : "");
	else if ((unsigned)o->chan_npeers < o->chan.peers)
		field_str(fp, "peer", "...");
}

static void
print_obj(const struct obj *o, int is_file, int json)
{
	struct field_printer fp = { json, 1 };
	char a[SHMKIT_ADDR_STRLEN * 4 + 8], b[256], c[256];
	int i;
	size_t n = 0;

	field_str(&fp, "address", fmt_escape(o->address, a, sizeof(a)));
	field_str(&fp, "type", is_file ? "file" : obj_type_name(o->type));
	if (o->type == OBJ_SYSV && !is_file) {
		snprintf(b, sizeof(b), "0x%08llx", o->key);
		field_str(&fp, "key", b);
		field_num(&fp, "id", o->id);
	}
	if (o->name[0] != '\0')
		field_str(&fp, "name", fmt_escape(o->name, a, sizeof(a)));
	field_num(&fp, "size", (long long)o->size);
	snprintf(b, sizeof(b), "%s (%04o)", fmt_perms(o->perms, c), o->perms);
	field_str(&fp, "perms", json ? fmt_perms(o->perms, c) : b);
	if (json)
		field_num(&fp, "mode", o->perms);
	field_str(&fp, "owner", fmt_user(o->uid, b, sizeof(b)));
	field_str(&fp, "group", fmt_group(o->gid, b, sizeof(b)));
	if (o->type == OBJ_SYSV && !is_file) {
		field_str(&fp, "creator", fmt_user(o->cuid, b, sizeof(b)));
		field_num(&fp, "cpid", o->cpid);
		field_num(&fp, "lpid", o->lpid);
		field_num(&fp, "nattch", o->nattch);
		snprintf(b, sizeof(b), "%s%s%s", o->dest ? "dest" : "",
			 o->dest && o->locked ? "," : "",
			 o->locked ? "locked" : "");
		field_str(&fp, "status", b);
		field_str(&fp, "attached", fmt_time(o->atime, b, sizeof(b)));
		field_str(&fp, "detached", fmt_time(o->dtime, b, sizeof(b)));
		field_str(&fp, "changed", fmt_time(o->ctime, b, sizeof(b)));
	} else {
		field_str(&fp, "modified", fmt_time(o->mtime, b, sizeof(b)));
		field_str(&fp, "changed", fmt_time(o->ctime, b, sizeof(b)));
		if (!is_file)
			field_num(&fp, "nattch", o->nattch);
	}
	b[0] = '\0';
	for (i = 0; i < o->npids && n + 80 < sizeof(b); i++)
		n += (size_t)snprintf(b + n, sizeof(b) - n, "%s%d(%s)",
				      i ? " " : "", (int)o->pids[i],
				      fmt_escape(obj_pid_comm(o->pids[i], c,
							      sizeof(c)),
						 a, 64));
	if (!is_file)
		field_str(&fp, "mapped-by", b);
	if (o->kind[0] != '\0') {
		field_str(&fp, "kind", o->kind);
		field_num(&fp, "version", o->version);
		field_str(&fp, "health", o->health);
	}
	if (o->chan_ok) {
		field_str(&fp, "pattern",
			  shmkit_chan_pattern_name(o->chan.pattern));
		field_str(&fp, "policy",
			  shmkit_chan_policy_name(o->chan.policy));
		print_peers(&fp, o);
	}
	if (json)
		printf("\n}\n");
}

int
cmd_stat(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	shmkit_addr_t addr;
	struct obj o;
	int c, rc, json = 0, is_file;

	while ((c = getopt_long(argc, argv, ":Jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'J':
			json = 1;
			break;
		case 'h':
			usage();
			return CLI_EXIT_OK;
		default:
			return cli_getopt_error("stat", c, argv);
		}
	}
	if (optind != argc - 1)
		return cli_usage_error("stat", optind < argc ?
						       "one ADDRESS, please" :
						       "missing ADDRESS");
	rc = shmkit_addr_parse(&addr, argv[optind]);
	if (rc < 0) {
		cli_addr_error("stat", argv[optind], rc);
		return CLI_EXIT_FAIL;
	}
	is_file = addr.kind == SHMKIT_ADDR_FILE;
	if (addr.kind == SHMKIT_ADDR_MEMFD) {
		cli_errorf("stat", "%s: a memfd has no name to look it up by",
			   argv[optind]);
		return CLI_EXIT_FAIL;
	}
	rc = is_file ? stat_file(argv[optind], &o) :
		       objects_find(argv[optind], 1, &o);
	if (rc < 0) {
		cli_addr_error("stat", argv[optind], rc);
		return CLI_EXIT_FAIL;
	}
	print_obj(&o, is_file, json);
	return CLI_EXIT_OK;
}
