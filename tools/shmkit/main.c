/*
 * main.c: the shmkit command's entry point.
 *
 * Parses the global options, then hands the rest of the command line to
 * the subcommand named first. Subcommands are rows of cli_commands[]:
 * adding one (ls, stat, mk, rm, ...) is a new cmd_<name>.c and a row here;
 * --help lists the rows that are not hidden.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <shmkit/shmkit.h>

const struct cli_command cli_commands[] = {
	{ "ls", cmd_ls, "list every shared memory object on the host", 0 },
	{ "stat", cmd_stat, "show everything known about one object", 0 },
	{ "mk", cmd_mk, "create a segment (like ipcmk)", 0 },
	{ "rm", cmd_rm, "remove segments by address (like ipcrm)", 0 },
	{ "cat", cmd_cat, "write a segment's bytes to stdout, or a hex dump",
	  0 },
	{ "write", cmd_write, "copy stdin into a segment", 0 },
	{ "limits", cmd_limits, "kernel limits and /dev/shm use", 0 },
	{ "chan", cmd_chan,
	  "create, send to, receive from and inspect message channels", 0 },
	{ "keys", cmd_keys, "manage the key store of a key-management service",
	  0 },
	{ "bench", cmd_bench,
	  "measure IPC mechanisms side by side: latency and throughput", 0 },
	{ "demo", cmd_demo,
	  "show each shared memory backend at work, step by step", 0 },
	/* Run by "shmkit demo" as its second process; not for users. */
	{ "demo-peer", cmd_demo_peer, NULL, CLI_CMD_HIDDEN },
	{ NULL, NULL, NULL, 0 },
};

static void
usage(void)
{
	const struct cli_command *c;

	printf("Usage: %s [OPTIONS] COMMAND [ARGS]...\n\n", CLI_PROGRAM);
	printf("Work with Linux shared memory: System V, POSIX, file and "
	       "memfd segments,\nnamed with one address syntax.\n\n");
	printf("Commands:\n");
	for (c = cli_commands; c->name != NULL; c++)
		if (!(c->flags & CLI_CMD_HIDDEN))
			printf("  %-10s  %s\n", c->name, c->summary);
	printf("\nOptions:\n");
	printf("  -h, --help     print this help and exit\n");
	printf("  -V, --version  print the version and exit\n");
	printf("\nRun '%s COMMAND --help' for the options of a command.\n",
	       CLI_PROGRAM);
	printf("Exit status: 0 success, 1 failure, 2 usage error. "
	       "See shmkit(1).\n");
}

/*
 * Flush stdout and report a failed write (a full disk, a closed pipe
 * reader), so "shmkit demo >/dev/full" does not exit 0 having lost its
 * output. A command that failed has said why already (chan recv, cat:
 * the write that failed), so it is not told twice.
 */
static int
close_stdout(const char *cmd, int status)
{
	if (status != CLI_EXIT_OK) {
		(void)fflush(stdout);
		return status;
	}
	if (fflush(stdout) != 0)
		cli_errorf(cmd, "cannot write to standard output: %s",
			   cli_stdout_error(-errno));
	else if (ferror(stdout) && cli_stdout_closed)
		cli_errorf(cmd, "cannot write to standard output: %s",
			   cli_stdout_error(-EIO));
	else if (ferror(stdout)) /* an earlier write failed; errno is gone */
		cli_errorf(cmd, "cannot write to standard output");
	else
		return status;
	return CLI_EXIT_FAIL;
}

static const struct cli_command *
find_command(const char *name)
{
	const struct cli_command *c;

	for (c = cli_commands; c->name != NULL; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

/*
 * Started with standard input, output or error closed ("shmkit chan send
 * /c <&-"), the next descriptor we open, a segment's, would take that
 * number: chan send would read the channel's own bytes as its input, and
 * what we print would be written into a segment. So a closed input
 * becomes /dev/null (no input), and a closed output /dev/full, where
 * every write fails: "chan recv >&-" then fails and leaves its message
 * in the channel rather than consuming it into nothing.
 */
static void
standard_fds_open(void)
{
	int fd;

	for (fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		if (open(fd == 0 ? "/dev/null" : "/dev/full",
			 fd == 0 ? O_RDONLY : O_WRONLY) != fd)
			_exit(CLI_EXIT_FAIL); /* nowhere even to say so */
		if (fd == STDOUT_FILENO)
			cli_stdout_closed = 1;
	}
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const struct cli_command *cmd;
	int c;

	standard_fds_open();
	opterr = 0;
	/* '+': stop at the first non-option, the command name; its own
	 * options are the command's to parse. */
	while ((c = getopt_long(argc, argv, "+:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage();
			return close_stdout(NULL, CLI_EXIT_OK);
		case 'V':
			printf("%s %s\n", CLI_PROGRAM, SHMKIT_VERSION_STRING);
			return close_stdout(NULL, CLI_EXIT_OK);
		default:
			return cli_getopt_error(NULL, c, argv);
		}
	}
	if (optind >= argc)
		return cli_usage_error(NULL, "no command given");
	cmd = find_command(argv[optind]);
	if (cmd == NULL)
		return cli_usage_error(NULL, "unknown command '%s'",
				       argv[optind]);
	argc -= optind;
	argv += optind;
	optind = 0; /* glibc: 0 restarts getopt completely for the command */
	return close_stdout(cmd->name, cmd->run(argc, argv));
}
