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

/* A number as addresses spell them: decimal, or hex after 0x. 0 and *v,
 * or -1 if it is not one; *big when it is one, past 64 bits. */
static int
addr_number(const char *s, unsigned long long *v, int *big)
{
	int base = (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ? 16 : 10;
	const char *digits = base == 16 ? s + 2 : s;
	char *end;

	*big = 0;
	if (*digits == '\0' ||
	    strchr("0123456789abcdefABCDEF", *digits) == NULL)
		return -1;
	errno = 0;
	*v = strtoull(digits, &end, base);
	if (*end != '\0')
		return -1;
	*big = errno == ERANGE;
	return 0;
}

/* Why text is not an address, in a user's words (it failed to parse). */
static void
addr_problem(const char *text, char *why, size_t len)
{
	/* Each back end's word, and an address that spells it out. */
	static const struct {
		const char *word, *example;
	} bare[] = {
		{"sysv", "sysv:0x44"},
		{"sysv-id", "sysv-id:12"},
		{"ftok", "ftok:/etc/hosts:65"},
		{"posix", "posix:/frames"},
		{"file", "file:/var/lib/app/shm"},
		{"memfd", "memfd:frames"},
	};
	const char *colon = strchr(text, ':');
	char name[NAME_MAX + 2];
	shmkit_addr_t addr;
	unsigned long long v;
	int big, id = strncmp(text, "sysv-id:", 8) == 0;
	size_t i;

	for (i = 0; i < sizeof(bare) / sizeof(bare[0]); i++)
		if (strcmp(text, bare[i].word) == 0) {
			snprintf(why, len,
				 "'%s' needs a colon and what follows it, as "
				 "in %s",
				 text, bare[i].example);
			return;
		}
	if (id || strncmp(text, "sysv:", 5) == 0) {
		if (addr_number(text + (id ? 8 : 5), &v, &big) < 0)
			snprintf(why, len,
				 "a System V %s is a number: "
				 "decimal, or hex with 0x",
				 id ? "id" : "key");
		else if (!id && v == 0 && !big)
			snprintf(why, len,
				 "key 0 is IPC_PRIVATE, which names "
				 "no segment ('shmkit mk sysv' picks "
				 "an unused key)");
		else
			snprintf(why, len, "%s out of range (at most %s)",
				 id ? "id" : "key",
				 id ? "2147483647" : "0xffffffff");
	} else if (strncmp(text, "ftok:", 5) == 0) {
		snprintf(why, len,
			 "ftok:PATH:PROJ takes a PATH and a PROJ of "
			 "1 to 255 or one character, as in "
			 "ftok:/etc/hosts:65");
	} else if (strncmp(text, "file:", 5) == 0 ||
		   strncmp(text, "memfd:", 6) == 0) {
		snprintf(why, len,
			 "%s needs a %s after the colon, without "
			 "control characters",
			 text[0] == 'f' ? "file:" : "memfd:",
			 text[0] == 'f' ? "PATH" : "NAME");
	} else if (text[0] == '/' || strncmp(text, "posix:", 6) == 0) {
		snprintf(why, len,
			 "a POSIX name is '/' then up to 255 bytes "
			 "without another '/' (not '.' or '..')");
	} else if (colon == NULL && strlen(text) < sizeof(name) - 1 &&
		   snprintf(name, sizeof(name), "/%s", text) > 0 &&
		   shmkit_addr_parse(&addr, name) == 0) {
		snprintf(why, len,
			 "a POSIX name starts with '/': did you "
			 "mean '%s'?",
			 name);
	} else {
		snprintf(why, len,
			 "give sysv:KEY, sysv-id:ID, "
			 "ftok:PATH:PROJ, /NAME, posix:/NAME, "
			 "file:PATH or memfd:NAME");
	}
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

int cli_stdout_closed;

const char *
cli_stdout_error(int err)
{
	return cli_stdout_closed ? "it is closed" : shmkit_strerror(err);
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
cli_parse_range(const char *cmd, const char *option, const char *text, long min,
		long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno != 0 ||
	    v < min || v > max) {
		cli_usage_error(cmd, "%s: '%s' is not a number from %ld to %ld",
				option, text, min, max);
		return -1;
	}
	return v;
}

long
cli_parse_uint(const char *cmd, const char *option, const char *text, long max)
{
	return cli_parse_range(cmd, option, text, 0, max);
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
