/*
 * An LD_PRELOAD shim for tests/cli/chan_stop_race.sh. It lands a stop
 * signal in the gap no timing can aim at: after shmkit chan send or recv
 * last looked at its stop flag, just before a call that then blocks in
 * the kernel, which the signal therefore does not interrupt.
 *
 * STOP_RACE=read: the first read(2) of standard input raises SIGTERM,
 * then reads (and blocks: the test's input is a FIFO it keeps open and
 * never writes).
 * STOP_RACE=fflush: the first fflush(3) of standard output fills the
 * pipe there, raises SIGTERM, then flushes (and blocks: nobody reads).
 * STOP_RACE=fill: the same without the signal, for a command that must
 * stay blocked there.
 *
 * Only calls made through the dynamic linker are seen: the command's own
 * read(2) of its input and fflush(3) of its output are.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Is this the first call of the kind STOP_RACE names? Once only. */
static int
first(const char *kind)
{
	static int done;
	const char *want = getenv("STOP_RACE");

	if (done || want == NULL || strcmp(want, kind) != 0)
		return 0;
	done = 1;
	return 1;
}

/* The next definition of name: libc's (dlsym(3) explains the cast). */
static void *
next(const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);

	if (f == NULL)
		abort();
	return f;
}

/* Fill the pipe on fd: whole pages, then single bytes, until full. */
static void
fill_pipe(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	char junk[4096];

	memset(junk, 'x', sizeof(junk));
	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	while (write(fd, junk, sizeof(junk)) > 0)
		;
	while (write(fd, junk, 1) > 0)
		;
	fcntl(fd, F_SETFL, fl);
}

ssize_t
read(int fd, void *buf, size_t len)
{
	static ssize_t (*real)(int, void *, size_t);

	if (real == NULL)
		*(void **)&real = next("read");
	if (fd == STDIN_FILENO && first("read"))
		raise(SIGTERM);
	return real(fd, buf, len);
}

int
fflush(FILE *f)
{
	static int (*real)(FILE *);

	if (real == NULL)
		*(void **)&real = next("fflush");
	if (f == stdout && first("fill")) {
		fill_pipe(STDOUT_FILENO);
	} else if (f == stdout && first("fflush")) {
		fill_pipe(STDOUT_FILENO);
		raise(SIGTERM);
	}
	return real(f);
}
