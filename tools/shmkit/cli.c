/*
 * cli.c: messages shared by the shmkit subcommands.
 *
 * Every diagnostic goes to stderr and starts with the program name (and the
 * subcommand, if any), so scripts and people can tell where it came from;
 * failures name the object and give shmkit_strerror()'s reason.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <shmkit/addr.h>
#include <shmkit/error.h>

static void
prefix(const char *cmd)
{
	if (cmd != NULL)
		fprintf(stderr, "%s %s: ", CLI_PROGRAM, cmd);
	else
		fprintf(stderr, "%s: ", CLI_PROGRAM);
}

void
cli_error(const char *cmd, const char *object, int err)
{
	shmkit_addr_t addr;

	prefix(cmd);
	if (object != NULL)
		fprintf(stderr, "%s: ", object);
	/* "No such file or directory" puzzles when the object is a System V
	 * key or id or a POSIX name: say what is missing. (For file: and
	 * ftok: addresses it is the right words: a path is missing.) */
	if (err == -ENOENT && object != NULL &&
	    shmkit_addr_parse(&addr, object) == 0 &&
	    (addr.kind == SHMKIT_ADDR_SYSV_KEY ||
	     addr.kind == SHMKIT_ADDR_SYSV_ID ||
	     addr.kind == SHMKIT_ADDR_POSIX))
		fprintf(stderr, "no such segment\n");
	else
		fprintf(stderr, "%s\n", shmkit_strerror(err));
}

/* Why text is not an address, in a user's words (it failed to parse). */
static void
addr_problem(const char *text, char *why, size_t len)
{
	const char *colon = strchr(text, ':');

	if (strcmp(text, "sysv:0") == 0 || strcmp(text, "sysv:0x0") == 0)
		snprintf(why, len,
			 "key 0 is IPC_PRIVATE, which names no "
			 "segment ('shmkit mk sysv' picks an unused "
			 "key)");
	else if (strncmp(text, "sysv:", 5) == 0 ||
		 strncmp(text, "sysv-id:", 8) == 0)
		snprintf(why, len,
			 "a System V %s is a number: decimal, or "
			 "hex with 0x",
			 text[4] == '-' ? "id" : "key");
	else if (text[0] == '/' || strncmp(text, "posix:", 6) == 0)
		snprintf(why, len,
			 "a POSIX name is '/' then up to 255 bytes "
			 "without another '/'");
	else if (colon == NULL && text[0] != '\0' && strlen(text) < 256)
		snprintf(why, len,
			 "a POSIX name starts with '/': did you "
			 "mean '/%s'?",
			 text);
	else
		snprintf(why, len,
			 "give sysv:KEY, sysv-id:ID, "
			 "ftok:PATH:PROJ, /NAME, posix:/NAME, "
			 "file:PATH or memfd:NAME");
}

void
cli_addr_error(const char *cmd, const char *address, int err)
{
	shmkit_addr_t addr;
	char why[320];

	if (address != NULL && shmkit_addr_parse(&addr, address) == 0) {
		if (err == -EOPNOTSUPP && addr.kind == SHMKIT_ADDR_MEMFD)
			cli_errorf(cmd,
				   "%s: a memfd has no name to look it up "
				   "by; it lives only as long as its "
				   "processes",
				   address);
		else
			cli_error(cmd, address, err);
		return;
	}
	if (err != -EINVAL || address == NULL) {
		cli_error(cmd, address, err);
		return;
	}
	addr_problem(address, why, sizeof(why));
	cli_errorf(cmd, "%s: not an address: %s", address, why);
}

void
cli_errorf(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	prefix(cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	if (fmt != NULL) {
		prefix(cmd);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	fprintf(stderr, "Try '%s%s%s --help' for more information.\n",
		CLI_PROGRAM, cmd != NULL ? " " : "", cmd != NULL ? cmd : "");
	return CLI_EXIT_USAGE;
}

int
cli_getopt_error(const char *cmd, int c, char **argv)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "";

	if (c == ':')
		return cli_usage_error(cmd, "option '%s' requires an argument",
				       arg);
	/* Long options set optopt to their val even when only the argument
	 * was wrong ("--help=x"), so name what the user typed. */
	if (strncmp(arg, "--", 2) == 0)
		return cli_usage_error(cmd, "unrecognized option '%s'", arg);
	return cli_usage_error(cmd, "invalid option -- '%c'", optopt);
}

long
cli_parse_uint(const char *cmd, const char *option, const char *text, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno != 0 ||
	    v < 0 || v > max) {
		cli_usage_error(cmd, "%s: '%s' is not a number from 0 to %ld",
				option, text, max);
		return -1;
	}
	return v;
}

long
cli_parse_mode(const char *cmd, const char *text)
{
	char *end;
	long mode;

	errno = 0;
	mode = strtol(text, &end, 8);
	if (errno != 0 || *end != '\0' || end == text || mode <= 0 ||
	    mode > 0777) {
		cli_usage_error(cmd, "invalid mode: '%s' (octal, 1-0777)",
				text);
		return -1;
	}
	return mode;
}
