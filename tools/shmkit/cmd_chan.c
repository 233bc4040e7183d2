/*
 * shmkit chan: message channels from the shell. "create" makes one,
 * "send" and "recv" (chan_io.c) move messages, "stat" shows its counters
 * and peers without becoming one, and "rm" is plain "shmkit rm". Channels
 * are read with shmkit_chan_inspect(), which checks everything it reads,
 * so a corrupt or hostile channel gives a message, never a crash.
 */
#include "chan_cmd.h"
#include "cli.h"
#include "fmt.h"
#include "objects.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <shmkit/shmkit.h>

static void
usage(void)
{
	printf("Usage: shmkit chan COMMAND ADDRESS [OPTIONS]\n\n"
	       "Message channels between processes, in shared memory.\n\n"
	       "Commands:\n"
	       "  create  make a channel at ADDRESS\n"
	       "  send    send arguments, lines of stdin or files as messages\n"
	       "  recv    receive messages and print them\n"
	       "  stat    show a channel's settings, counters and peers\n"
	       "  rm      remove channels (the same as 'shmkit rm')\n\n"
	       "Run 'shmkit chan COMMAND --help' for the options of a "
	       "command.\n\n"
	       "Examples:\n"
	       "  shmkit chan create /jobs --pattern mpmc\n"
	       "  shmkit chan send /jobs 'resize a.png' 'resize b.png'\n"
	       "  shmkit chan recv /jobs --follow      # in another terminal\n"
	       "  shmkit chan stat /jobs\n"
	       "  shmkit rm /jobs\n");
}

static void
create_usage(void)
{
	printf("Usage: shmkit chan create ADDRESS [OPTIONS]\n\n"
	       "Create a segment at ADDRESS (sysv:KEY, ftok:PATH:PROJ,\n"
	       "posix:/NAME, /NAME or file:PATH) holding an empty channel, "
	       "and\n"
	       "print its address.\n\n"
	       "Options:\n"
	       "  -p, --pattern P    spsc (one sender, one receiver; the\n"
	       "                     default), mpmc (any number of each, "
	       "every\n"
	       "                     message to one receiver) or broadcast\n"
	       "                     (one sender, every message to every\n"
	       "                     receiver)\n"
	       "  -P, --policy P     when the channel is full: block (wait;\n"
	       "                     the default), fail (senders fail at\n"
	       "                     once) or overwrite (broadcast only:\n"
	       "                     slow receivers lose the oldest messages)\n"
	       "  -s, --msg-max SIZE largest message (default 4K; K, M, G\n"
	       "                     suffixes as in 'shmkit mk'; at most 1G)\n"
	       "  -S, --slots N      messages held (default 64; rounded up to\n"
	       "                     a power of two)\n"
	       "  -n, --peers N      processes attached at once, 2 to 4096\n"
	       "                     (default 64; spsc: 2, and no other)\n"
	       "  -m, --mode MODE    octal permissions (default 0600)\n"
	       "  -h, --help         this help\n\n"
	       "Examples:\n"
	       "  shmkit chan create /log\n"
	       "  shmkit chan create posix:/ticks --pattern broadcast "
	       "--policy overwrite\n"
	       "  shmkit chan create sysv:0x51 --pattern mpmc --msg-max 64K "
	       "--slots 16\n");
}

static void
stat_usage(void)
{
	printf("Usage: shmkit chan stat ADDRESS [--json]\n\n"
	       "Show a channel's pattern, full policy, largest message and\n"
	       "slots, the messages sent, received and pending, and every\n"
	       "registered peer: its place, role, pid, whether it is alive,\n"
	       "and the messages it sent or received. Reads the channel\n"
	       "without attaching as a peer.\n\n"
	       "Options:\n"
	       "  -J, --json   JSON output\n"
	       "  -h, --help   this help\n\n"
	       "Examples:\n"
	       "  shmkit chan stat /jobs\n"
	       "  shmkit chan stat /jobs --json\n");
}

/*
 * The kind of shmkit object at address, when it is one but not a channel:
 * its header is read with pread (a mapping of a file a peer truncates
 * would SIGBUS), or through a read-only attach for System V, which has no
 * fd, and judged by shmkit_obj_probe(). NULL when it is no shmkit object
 * or cannot be read.
 */
static const char *
other_kind(const char *address)
{
	const shmkit_seg_opts_t ro = { .flags = SHMKIT_SEG_RDONLY };
	unsigned char hdr[SHMKIT_OBJ_HDR_SIZE];
	const char *kind = NULL;
	shmkit_obj_info_t info;
	shmkit_seg_t *seg;
	void *map;
	size_t size;
	int fd, rc;

	if (shmkit_seg_open(&seg, address, &ro) < 0)
		return NULL;
	size = shmkit_seg_size(seg);
	fd = shmkit_seg_fd(seg);
	rc = -1;
	if (size >= sizeof(hdr) && fd >= 0) {
		if (pread(fd, hdr, sizeof(hdr), 0) == (ssize_t)sizeof(hdr))
			rc = 0;
	} else if (size >= sizeof(hdr)) {
		rc = shmkit_seg_attach(seg, &map, SHMKIT_ATTACH_RDONLY, NULL);
		if (rc == 0)
			memcpy(hdr, map, sizeof(hdr));
	}
	shmkit_seg_close(seg);
	if (rc == 0) {
		rc = shmkit_obj_probe(hdr, size, &info);
		if (rc != SHMKIT_ENOTOBJ && rc != -EINVAL &&
		    info.kind != SHMKIT_OBJ_CHAN)
			kind = shmkit_obj_kind_name(info.kind);
	}
	return kind;
}

/*
 * The pid of a live peer of role in the channel at address, or 0: who
 * holds the single place that made an open fail with EBUSY. A snapshot,
 * read after the failure; the holder may be gone by now.
 */
static int
live_holder(const char *address, unsigned role)
{
	shmkit_chan_peer_info_t *peers = NULL;
	shmkit_chan_info_t info;
	size_t i, n = 0;
	int pid = 0;

	if (objects_chan_peers(address, &info, &peers, &n) < 0)
		return 0;
	for (i = 0; i < n && pid == 0; i++)
		if (peers[i].role == role && peers[i].alive > 0)
			pid = peers[i].pid;
	free(peers);
	return pid;
}

void
chan_report_open(const char *cmd, const char *address, unsigned role, int err)
{
	int pid = err == -EBUSY ? live_holder(address, role) : 0;

	if (pid > 0)
		cli_errorf(cmd,
			   "%s: busy: the channel's single %s place is held "
			   "by process %d (see 'shmkit chan stat')",
			   address,
			   role == SHMKIT_CHAN_PRODUCER ? "sender" : "receiver",
			   pid);
	else
		chan_report(cmd, address, err);
}

void
chan_report(const char *cmd, const char *address, int err)
{
	const char *kind;

	switch (err) {
	case -EBUSY:
		cli_errorf(cmd,
			   "%s: busy: being created, or its single "
			   "sender or receiver place is held by a live "
			   "process (see 'shmkit chan stat')",
			   address);
		break;
	case -EUSERS:
		cli_errorf(cmd, "%s: every peer place is held by a live "
				"process (see 'shmkit chan stat')",
			   address);
		break;
	case SHMKIT_ENOTOBJ:
		kind = other_kind(address);
		if (kind != NULL)
			cli_errorf(cmd, "%s: a %s object, not a channel",
				   address, kind);
		else
			cli_errorf(cmd, "%s: not a channel (no shmkit object "
					"header)",
				   address);
		break;
	case -ENOSYS:
		cli_errorf(cmd, "%s: channels are not supported by this build "
				"of the library",
			   address);
		break;
	default:
		cli_addr_error(cmd, address, err);
		break;
	}
}

int
chan_one_address(const char *cmd, int argc)
{
	if (optind != argc - 1)
		return cli_usage_error(cmd, optind < argc ?
						    "one ADDRESS, please" :
						    "missing ADDRESS");
	return 0;
}

int
chan_parse_seconds(const char *cmd, const char *option, const char *text,
		   struct timespec *ts)
{
	const long long max = 366LL * 24 * 3600;
	long long sec = 0;
	long nsec = 0, scale = 100000000;
	const char *p = text;

	for (; *p >= '0' && *p <= '9' && sec <= max; p++)
		sec = sec * 10 + (*p - '0');
	if (p == text && *p != '.')
		goto bad;
	if (*p == '.') {
		if (p[1] < '0' || p[1] > '9')
			goto bad;
		for (p++; *p >= '0' && *p <= '9'; p++) {
			nsec += (*p - '0') * scale;
			scale /= 10;
		}
	}
	if (*p != '\0' || sec > max)
		goto bad;
	ts->tv_sec = (time_t)sec;
	ts->tv_nsec = nsec;
	return 0;
bad:
	cli_usage_error(cmd, "%s: '%s' is not a number of seconds (0 to %lld)",
			option, text, max);
	return -1;
}

/* One of three names for option what of "chan create", as vals[] in the
 * same order; a usage error otherwise. */
static int
parse_choice(const char *what, const char *text, const char *const names[3],
	     const unsigned vals[3], unsigned *out)
{
	int i;

	for (i = 0; i < 3; i++) {
		if (strcmp(text, names[i]) == 0) {
			*out = vals[i];
			return 0;
		}
	}
	return cli_usage_error("chan create",
			       "unknown %s: '%s' (use %s, %s or %s)", what,
			       text, names[0], names[1], names[2]);
}

static int
parse_pattern(const char *text, unsigned *out)
{
	static const char *const names[3] = { "spsc", "mpmc", "broadcast" };
	static const unsigned vals[3] = { SHMKIT_CHAN_SPSC, SHMKIT_CHAN_MPMC,
					  SHMKIT_CHAN_BROADCAST };

	return parse_choice("pattern", text, names, vals, out);
}

static int
parse_policy(const char *text, unsigned *out)
{
	static const char *const names[3] = { "block", "fail", "overwrite" };
	static const unsigned vals[3] = { SHMKIT_CHAN_FULL_BLOCK,
					  SHMKIT_CHAN_FULL_FAIL,
					  SHMKIT_CHAN_FULL_OVERWRITE };

	return parse_choice("policy", text, names, vals, out);
}

/* A size option from min to max, with the suffixes of shmkit mk. */
static int
parse_count(const char *option, const char *text, unsigned long long min,
	    unsigned long long max, unsigned long long *out)
{
	unsigned long long v;

	if (fmt_parse_size(text, &v) < 0 || v < min || v > max)
		return cli_usage_error("chan create",
				       "%s: '%s' is not a number from %llu to "
				       "%llu",
				       option, text, min, max);
	*out = v;
	return 0;
}

static int
chan_create(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pattern", required_argument, NULL, 'p' },
		{ "policy", required_argument, NULL, 'P' },
		{ "msg-max", required_argument, NULL, 's' },
		{ "slots", required_argument, NULL, 'S' },
		{ "peers", required_argument, NULL, 'n' },
		{ "mode", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = "chan create";
	shmkit_chan_opts_t opts = { .mode = 0600 };
	char canon[SHMKIT_ADDR_STRLEN];
	unsigned long long v = 0;
	shmkit_addr_t addr;
	const char *address;
	long mode;
	int c, rc;

	while ((c = getopt_long(argc, argv, ":p:P:s:S:n:m:h", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_pattern(optarg, &opts.pattern) != 0)
				return CLI_EXIT_USAGE;
			break;
		case 'P':
			if (parse_policy(optarg, &opts.policy) != 0)
				return CLI_EXIT_USAGE;
			break;
		case 's':
			if (parse_count("--msg-max", optarg, 1,
					SHMKIT_CHAN_MSG_MAX, &v) != 0)
				return CLI_EXIT_USAGE;
			opts.msg_max = (size_t)v;
			break;
		case 'S':
			if (parse_count("--slots", optarg, 1,
					SHMKIT_CHAN_SLOTS_MAX, &v) != 0)
				return CLI_EXIT_USAGE;
			opts.slots = (size_t)v;
			break;
		case 'n':
			/* Every pattern needs two places: a sender's and a
			 * receiver's (shmkit_chan_size() refuses fewer). */
			if (parse_count("--peers", optarg, 2,
					SHMKIT_CHAN_PEERS_MAX, &v) != 0)
				return CLI_EXIT_USAGE;
			opts.peers = (unsigned)v;
			break;
		case 'm':
			mode = cli_parse_mode(cmd, optarg);
			if (mode < 0)
				return CLI_EXIT_USAGE;
			opts.mode = (mode_t)mode;
			break;
		case 'h':
			create_usage();
			return CLI_EXIT_OK;
		default:
			return cli_getopt_error(cmd, c, argv);
		}
	}
	if (chan_one_address(cmd, argc) != 0)
		return CLI_EXIT_USAGE;
	address = argv[optind];
	if (opts.policy == SHMKIT_CHAN_FULL_OVERWRITE &&
	    opts.pattern != SHMKIT_CHAN_BROADCAST)
		return cli_usage_error(cmd, "--policy overwrite needs "
					    "--pattern broadcast");
	/* SPSC, also by default: the library takes more places, but never
	 * fills them. */
	if ((opts.pattern == 0 || opts.pattern == SHMKIT_CHAN_SPSC) &&
	    opts.peers > 2)
		return cli_usage_error(cmd, "--peers: an spsc channel has one "
					    "sender and one receiver, so 2 "
					    "places; more is for mpmc or "
					    "broadcast");
	if (shmkit_chan_size(&opts) == 0)
		return cli_usage_error(cmd, "no channel has these options (too "
					    "big, or a peer count the pattern "
					    "does not allow)");
	rc = shmkit_addr_parse(&addr, address);
	if (rc < 0) {
		cli_addr_error(cmd, address, rc);
		return CLI_EXIT_FAIL;
	}
	if (addr.kind == SHMKIT_ADDR_MEMFD ||
	    addr.kind == SHMKIT_ADDR_SYSV_ID) {
		/* A memfd would vanish as this command exits; a shmid names
		 * only a segment that exists. */
		cli_errorf(cmd, "%s: a channel needs a name to create it "
				"under: use sysv:KEY, posix:/NAME or file:PATH",
			   address);
		return CLI_EXIT_FAIL;
	}
	rc = shmkit_chan_create(address, &opts);
	if (rc == -EEXIST) {
		cli_errorf(cmd,
			   "%s: a segment exists there already (see "
			   "'shmkit chan stat %s', or 'shmkit rm %s' to "
			   "remove it)",
			   address, address, address);
		return CLI_EXIT_FAIL;
	}
	if (rc < 0) {
		chan_report(cmd, address, rc);
		return CLI_EXIT_FAIL;
	}
	if (shmkit_addr_format(&addr, canon, sizeof(canon)) < 0)
		snprintf(canon, sizeof(canon), "%s", address);
	printf("%s\n", canon);
	return CLI_EXIT_OK;
}

static const char *
role_name(unsigned role)
{
	if (role == SHMKIT_CHAN_PRODUCER)
		return "producer";
	if (role == SHMKIT_CHAN_CONSUMER)
		return "consumer";
	return "?";
}

static const char *
alive_name(int alive)
{
	return alive > 0 ? "alive" : alive == 0 ? "dead" : "unknown";
}

static void
json_field(const char *name, int first)
{
	printf("%s\n  ", first ? "{" : ",");
	fmt_json_string(stdout, name);
	printf(": ");
}

static void
print_json(const char *address, const shmkit_chan_info_t *info,
	   const shmkit_chan_peer_info_t *peers, size_t n)
{
	char comm[64];
	size_t i;

	json_field("address", 1);
	fmt_json_string(stdout, address);
	json_field("pattern", 0);
	fmt_json_string(stdout, shmkit_chan_pattern_name(info->pattern));
	json_field("policy", 0);
	fmt_json_string(stdout, shmkit_chan_policy_name(info->policy));
	json_field("msg-max", 0);
	printf("%zu", info->msg_max);
	json_field("slots", 0);
	printf("%zu", info->slots);
	json_field("peers-max", 0);
	printf("%u", info->peers_max);
	json_field("sent", 0);
	printf("%llu", (unsigned long long)info->sent);
	json_field("received", 0);
	printf("%llu", (unsigned long long)info->received);
	json_field("pending", 0);
	printf("%llu", (unsigned long long)info->pending);
	json_field("peers", 0);
	printf("[");
	for (i = 0; i < n; i++) {
		const shmkit_chan_peer_info_t *p = &peers[i];

		printf("%s\n   {\"index\": %u, \"role\": \"%s\", \"pid\": %d, "
		       "\"alive\": %s, \"messages\": %llu, \"lost\": %llu, "
		       "\"command\": ",
		       i ? "," : "", p->index, role_name(p->role), p->pid,
		       p->alive > 0 ? "true" : p->alive == 0 ? "false" : "null",
		       (unsigned long long)p->messages,
		       (unsigned long long)p->lost);
		fmt_json_string(stdout, p->alive > 0 ?
						obj_pid_comm(p->pid, comm,
							     sizeof(comm)) :
						"");
		printf("}");
	}
	printf("%s]\n}\n", n ? "\n  " : "");
}

static void
print_text(const char *address, const shmkit_chan_info_t *info,
	   const shmkit_chan_peer_info_t *peers, size_t n)
{
	char comm[64], esc[256];
	size_t i, alive = 0;

	for (i = 0; i < n; i++)
		alive += peers[i].alive > 0;
	printf("%-10s %s\n", "address", fmt_escape(address, esc, sizeof(esc)));
	printf("%-10s %s\n", "pattern",
	       shmkit_chan_pattern_name(info->pattern));
	printf("%-10s %s\n", "policy", shmkit_chan_policy_name(info->policy));
	printf("%-10s %zu\n", "msg-max", info->msg_max);
	printf("%-10s %zu\n", "slots", info->slots);
	printf("%-10s %llu\n", "sent", (unsigned long long)info->sent);
	printf("%-10s %llu\n", "received", (unsigned long long)info->received);
	printf("%-10s %llu\n", "pending", (unsigned long long)info->pending);
	printf("%-10s %zu registered, %zu alive, at most %u\n", "peers", n,
	       alive, info->peers_max);
	if (n == 0)
		return;
	printf("\n%5s  %-8s  %8s  %-7s  %10s  %8s  %s\n", "PEER", "ROLE", "PID",
	       "ALIVE", "MESSAGES", "LOST", "COMMAND");
	for (i = 0; i < n; i++) {
		const shmkit_chan_peer_info_t *p = &peers[i];

		printf("%5u  %-8s  %8d  %-7s  %10llu  %8llu  %s\n", p->index,
		       role_name(p->role), p->pid, alive_name(p->alive),
		       (unsigned long long)p->messages,
		       (unsigned long long)p->lost,
		       p->alive > 0 ?
			       fmt_escape(obj_pid_comm(p->pid, comm,
						       sizeof(comm)),
					  esc, sizeof(esc)) :
			       "");
	}
}

static int
chan_stat(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = "chan stat";
	shmkit_chan_peer_info_t *peers = NULL;
	char canon[SHMKIT_ADDR_STRLEN];
	shmkit_chan_info_t info;
	shmkit_addr_t addr;
	int c, rc, json = 0;
	size_t n = 0;

	while ((c = getopt_long(argc, argv, ":Jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'J':
			json = 1;
			break;
		case 'h':
			stat_usage();
			return CLI_EXIT_OK;
		default:
			return cli_getopt_error(cmd, c, argv);
		}
	}
	if (chan_one_address(cmd, argc) != 0)
		return CLI_EXIT_USAGE;
	rc = shmkit_addr_parse(&addr, argv[optind]);
	if (rc == 0)
		rc = objects_chan_peers(argv[optind], &info, &peers, &n);
	if (rc < 0) {
		chan_report(cmd, argv[optind], rc);
		return CLI_EXIT_FAIL;
	}
	if (shmkit_addr_format(&addr, canon, sizeof(canon)) < 0)
		snprintf(canon, sizeof(canon), "%s", argv[optind]);
	if (json)
		print_json(canon, &info, peers, n);
	else
		print_text(canon, &info, peers, n);
	free(peers);
	return CLI_EXIT_OK;
}

int
cmd_chan(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(int argc, char **argv);
	} subs[] = {
		{ "create", chan_create }, { "send", chan_send },
		{ "recv", chan_recv },	   { "stat", chan_stat },
		{ "rm", cmd_rm },
	};
	size_t i;

	if (argc < 2)
		return cli_usage_error("chan", "missing COMMAND (create, send, "
					       "recv, stat or rm)");
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage();
		return CLI_EXIT_OK;
	}
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (strcmp(argv[1], subs[i].name) == 0) {
			optind = 0; /* glibc: restart getopt for the command */
			return subs[i].run(argc - 1, argv + 1);
		}
	}
	return cli_usage_error("chan", "unknown command '%s'", argv[1]);
}
