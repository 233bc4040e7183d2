/*
 * cli.h: what the files of the shmkit command share.
 *
 * main.c holds the command table and the global options; each subcommand
 * lives in cmd_<name>.c and is one row of the table. Only the tool prints
 * or exits; the library returns codes that cli_error() turns into
 * "shmkit: OBJECT: reason" lines.
 */
#ifndef SHMKIT_CLI_H
#define SHMKIT_CLI_H

#include <stdio.h>

/* Exit status of every shmkit command (see shmkit(1), EXIT STATUS). */
enum {
	CLI_EXIT_OK = 0,    /* success */
	CLI_EXIT_FAIL = 1,  /* the work failed */
	CLI_EXIT_USAGE = 2, /* bad command line */
};

/* Flags of a command table row. */
#define CLI_CMD_HIDDEN 0x1u /* internal: not listed by --help */

/*
 * One subcommand. run gets the arguments from the command name on
 * (argv[0] is the name) and returns a CLI_EXIT_* value; it parses its own
 * options with getopt_long, after main() has reset getopt's state.
 */
struct cli_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary; /* one line for shmkit --help */
	unsigned flags;
};

/* The table, NULL-terminated (main.c). */
extern const struct cli_command cli_commands[];

/* "shmkit" or "shmkit demo": the prefix of messages about a command. */
#define CLI_PROGRAM "shmkit"

/*
 * cli_error - print "shmkit[ CMD]: OBJECT: reason" to stderr, where reason
 * is shmkit_strerror(err). cmd and object may be NULL.
 */
void cli_error(const char *cmd, const char *object, int err);

/*
 * cli_addr_error - cli_error() for an operation on ADDRESS, which also
 * says what is wrong with ADDRESS when err is -EINVAL because it is not
 * an address at all ("frames": "did you mean '/frames'?").
 */
void cli_addr_error(const char *cmd, const char *address, int err);

/*
 * cli_stdout_closed - set when the command started with standard output
 * closed, which main() then points at /dev/full (every write fails).
 * cli_stdout_error - why a write to standard output failed with err (a
 * negative errno): that it is closed, or shmkit_strerror(err), since
 * "No space left on device" would send the user looking for a full disk.
 */
extern int cli_stdout_closed;
const char *cli_stdout_error(int err);

/* cli_errorf - print "shmkit[ CMD]: " and the formatted text to stderr. */
void cli_errorf(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * cli_usage_error - report a misuse: the formatted text (if fmt is not
 * NULL), then "Try 'shmkit[ CMD] --help' for more information.".
 * Returns CLI_EXIT_USAGE so callers can "return cli_usage_error(...)".
 */
int cli_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * cli_getopt_error - report what getopt_long returned as '?' or ':' (the
 * optstring must start with ':' and opterr must be 0) and return
 * CLI_EXIT_USAGE. argv is the vector given to getopt_long.
 */
int cli_getopt_error(const char *cmd, int c, char **argv);

/*
 * cli_parse_range - parse a decimal number min..max (min >= 0) from TEXT
 * for option OPTION; on failure report a usage error that gives the
 * range and return -1. cli_parse_uint() is the range 0..max.
 */
long cli_parse_range(const char *cmd, const char *option, const char *text,
		     long min, long max);
long cli_parse_uint(const char *cmd, const char *option, const char *text,
		    long max);

/*
 * cli_parse_mode - parse a --mode value TEXT (octal permission bits,
 * 1..0777: mode 0 would lock out even the owner); on failure report a
 * usage error and return -1.
 */
long cli_parse_mode(const char *cmd, const char *text);

/* Subcommands, one per row of cli_commands[] (cmd_<name>.c). */
int cmd_bench(int argc, char **argv);
int cmd_cat(int argc, char **argv);
int cmd_chan(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_demo_peer(int argc, char **argv);
int cmd_keys(int argc, char **argv);
int cmd_limits(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_mk(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_stat(int argc, char **argv);
int cmd_write(int argc, char **argv);

#endif /* SHMKIT_CLI_H */
