/*
 * bench_pipe.c: pipes and FIFOs, the baseline every other mechanism is
 * compared with ("x pipe" in the output).
 *
 * Two one-way channels, one per direction. A FIFO is a pipe with a name
 * in the file system: it is made in a private directory, opened, and its
 * name removed before the peer is forked, so an interrupted run leaves no
 * file behind. Both are byte streams; a message larger than the pipe
 * buffer (64 KiB by default) goes through in pieces.
 *
 * fd[0]/fd[1]: read/write ends towards the child; fd[2]/fd[3]: towards
 * the parent.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int
pipe_setup(struct bench_ctx *c)
{
	if (pipe2(&c->fd[0], O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(&c->fd[2], O_CLOEXEC) < 0) {
		int rc = -errno;

		bench_close(&c->fd[0]);
		bench_close(&c->fd[1]);
		return rc;
	}
	return 0;
}

/* Open both ends of the FIFO at path into fd[i] (read) and fd[i + 1]. */
static int
open_fifo(struct bench_ctx *c, const char *path, int i)
{
	int flags;

	if (mkfifo(path, 0600) < 0)
		return -errno;
	/* A read end opened without O_NONBLOCK would wait for a writer. */
	c->fd[i] = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (c->fd[i] < 0)
		return -errno;
	c->fd[i + 1] = open(path, O_WRONLY | O_CLOEXEC);
	if (c->fd[i + 1] < 0)
		return -errno;
	flags = fcntl(c->fd[i], F_GETFL);
	if (flags < 0 || fcntl(c->fd[i], F_SETFL, flags & ~O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

static int
fifo_setup(struct bench_ctx *c)
{
	const char *tmp = getenv("TMPDIR");
	char a[PATH_MAX + 8], b[PATH_MAX + 8];
	int rc, i;

	if (tmp == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	snprintf(c->path, sizeof(c->path), "%s/shmkit-bench-XXXXXX", tmp);
	if (mkdtemp(c->path) == NULL) {
		rc = -errno;
		snprintf(c->why, sizeof(c->why), "mkdtemp in %.100s", tmp);
		return rc;
	}
	snprintf(a, sizeof(a), "%s/p2c", c->path);
	snprintf(b, sizeof(b), "%s/c2p", c->path);
	rc = open_fifo(c, a, 0);
	if (rc == 0)
		rc = open_fifo(c, b, 2);
	/* The open ends are all we need: remove the names now. */
	unlink(a);
	unlink(b);
	rmdir(c->path);
	if (rc < 0)
		for (i = 0; i < 4; i++)
			bench_close(&c->fd[i]);
	return rc;
}

static void
pipe_attach(struct bench_ctx *c)
{
	/* Closing the unused ends makes a dead peer visible as EOF/EPIPE. */
	if (c->side == BENCH_PARENT) {
		bench_close(&c->fd[0]);
		bench_close(&c->fd[3]);
	} else {
		bench_close(&c->fd[1]);
		bench_close(&c->fd[2]);
	}
}

static int
pipe_send(struct bench_ctx *c, const void *buf, size_t len)
{
	return bench_write_full(c->fd[c->side == BENCH_PARENT ? 1 : 3], buf,
				len);
}

static int
pipe_recv(struct bench_ctx *c, void *buf, size_t len)
{
	return bench_read_full(c->fd[c->side == BENCH_PARENT ? 2 : 0], buf,
			       len);
}

static void
pipe_fini(struct bench_ctx *c)
{
	int i;

	for (i = 0; i < 4; i++)
		bench_close(&c->fd[i]);
}

const struct bench_ops bench_pipe_ops = {
	.setup = pipe_setup,
	.attach = pipe_attach,
	.send = pipe_send,
	.recv = pipe_recv,
	.fini = pipe_fini,
};

const struct bench_ops bench_fifo_ops = {
	.setup = fifo_setup,
	.attach = pipe_attach,
	.send = pipe_send,
	.recv = pipe_recv,
	.fini = pipe_fini,
};
