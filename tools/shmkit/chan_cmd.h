/*
 * chan_cmd.h: what the files of "shmkit chan" share. cmd_chan.c holds the
 * dispatch, create and stat; chan_io.c holds send and recv, the two that
 * wait and so must end cleanly on a signal.
 */
#ifndef SHMKIT_CLI_CHAN_CMD_H
#define SHMKIT_CLI_CHAN_CMD_H

#include <time.h>

#include <shmkit/shmkit.h>

/* Subcommands: argv[0] is the subcommand's name ("send"). */
int chan_send(int argc, char **argv);
int chan_recv(int argc, char **argv);

/*
 * chan_parse_seconds - parse "2", "0.5" or "1.25" (seconds, at most
 * nanosecond precision, up to a year) into *ts for option OPTION of
 * command CMD; on failure report a usage error and return -1.
 */
int chan_parse_seconds(const char *cmd, const char *option, const char *text,
		       struct timespec *ts);

/*
 * chan_one_address - after getopt: 0 when argv[optind] is the only
 * operand, else report a usage error and return CLI_EXIT_USAGE.
 */
int chan_one_address(const char *cmd, int argc);

/*
 * chan_report - report err from an operation on the channel at address,
 * in words a shell user can act on for the codes channels add (a busy
 * single place, a full peer table, not a channel at all).
 */
void chan_report(const char *cmd, const char *address, int err);

/*
 * chan_report_open - chan_report() for a failed open as role
 * (SHMKIT_CHAN_PRODUCER or _CONSUMER): a busy single place is reported
 * with the process that holds it, when one still does.
 */
void chan_report_open(const char *cmd, const char *address, unsigned role,
		      int err);

/*
 * The lines of a descriptor (chan_lines.c), for chan send: each line
 * without its delimiter, and whether more are already read, so that a
 * sender can batch those and publish before the next read may block.
 */
struct line_reader {
	int fd, delim, eof;
	size_t max; /* longest line wanted */
	char *buf;
	size_t cap, start, end;
	size_t scan; /* [start, scan) holds no delimiter: search from here */
};

void line_reader_init(struct line_reader *r, int fd, int delim, size_t max);
void line_reader_free(struct line_reader *r);

/*
 * line_reader_next - the next line in *line and *len (valid until the
 * next call), with *more set when another is already read: 1; 0 at the
 * end of the input; -EMSGSIZE for a line longer than max (*line and *len
 * then hold what was read of it); -ENOMEM; or a negative errno of
 * read(2), -EINTR included, after which it may be called again.
 */
int line_reader_next(struct line_reader *r, const char **line, size_t *len,
		     int *more);

#endif /* SHMKIT_CLI_CHAN_CMD_H */
