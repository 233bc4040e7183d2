/*
 * bench_socket.c: unix domain sockets (stream, datagram, seqpacket) and
 * TCP over the loopback interface.
 *
 * Each pair is one bidirectional connection: fd[0] is the parent's end,
 * fd[1] the child's. Stream sockets move bytes like a pipe; datagram and
 * seqpacket sockets move whole messages, so each receive must return
 * exactly one message of the expected length. A datagram larger than the
 * socket buffer allows (net.core.wmem_max) cannot be sent at all: setup
 * probes the size once and reports n/a rather than a failure.
 */
#include "bench.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Ask for room for a few messages; the kernel caps it at wmem_max. */
static void
grow_buffers(int fd, size_t size)
{
	int v = size > (1u << 28) / 4 ? 1 << 28 : (int)(size * 4);

	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
}

/* Send one datagram of the measured size to ourselves: EMSGSIZE or
 * ENOBUFS here means the mechanism cannot carry it. */
static int
probe_size(struct bench_ctx *c)
{
	char *buf;
	ssize_t n;
	int rc = 0;

	buf = calloc(1, c->size);
	if (buf == NULL)
		return -ENOMEM;
	n = send(c->fd[0], buf, c->size, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n < 0) {
		rc = -errno;
		if (rc == -EMSGSIZE || rc == -ENOBUFS || rc == -EAGAIN) {
			snprintf(c->why, sizeof(c->why),
				 "a %zu-byte message exceeds the socket "
				 "buffer (net.core.wmem_max)", c->size);
			rc = -EMSGSIZE;
		}
	} else if (recv(c->fd[1], buf, c->size, MSG_DONTWAIT) < 0) {
		rc = -errno;
	}
	free(buf);
	return rc;
}

static int
unix_setup(struct bench_ctx *c)
{
	int rc;

	if (socketpair(AF_UNIX, c->mech->arg | SOCK_CLOEXEC, 0, c->fd) < 0)
		return -errno;
	grow_buffers(c->fd[0], c->size);
	grow_buffers(c->fd[1], c->size);
	if (c->mech->arg == SOCK_STREAM)
		return 0;
	rc = probe_size(c);
	if (rc < 0) {
		bench_close(&c->fd[0]);
		bench_close(&c->fd[1]);
	}
	return rc;
}

static int
tcp_setup(struct bench_ctx *c)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int lfd, one = 1, rc = 0;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return -errno;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = 0; /* any free port */
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 1) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl) < 0) {
		rc = -errno;
		snprintf(c->why, sizeof(c->why), "listen on 127.0.0.1");
		goto out;
	}
	c->fd[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd[0] < 0 ||
	    connect(c->fd[0], (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		snprintf(c->why, sizeof(c->why), "connect to 127.0.0.1");
		goto out;
	}
	c->fd[1] = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (c->fd[1] < 0) {
		rc = -errno;
		goto out;
	}
	/* Latency, not batching: send each message at once. */
	setsockopt(c->fd[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(c->fd[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
out:
	close(lfd);
	if (rc < 0) {
		bench_close(&c->fd[0]);
		bench_close(&c->fd[1]);
	}
	return rc;
}

static void
sock_attach(struct bench_ctx *c)
{
	bench_close(&c->fd[c->side == BENCH_PARENT ? 1 : 0]);
}

static int
my_fd(const struct bench_ctx *c)
{
	return c->fd[c->side == BENCH_PARENT ? 0 : 1];
}

static int
stream_send(struct bench_ctx *c, const void *buf, size_t len)
{
	return bench_write_full(my_fd(c), buf, len);
}

static int
stream_recv(struct bench_ctx *c, void *buf, size_t len)
{
	return bench_read_full(my_fd(c), buf, len);
}

static int
msg_send(struct bench_ctx *c, const void *buf, size_t len)
{
	ssize_t n;
	int rc;

	for (;;) {
		n = send(my_fd(c), buf, len, MSG_NOSIGNAL);
		if (n >= 0)
			return (size_t)n == len ? 0 : -EMSGSIZE;
		if (errno != EINTR)
			return -errno;
		rc = bench_check();
		if (rc < 0)
			return rc;
	}
}

static int
msg_recv(struct bench_ctx *c, void *buf, size_t len)
{
	ssize_t n;
	int rc;

	for (;;) {
		/* MSG_TRUNC: learn the real length of a longer message. */
		n = recv(my_fd(c), buf, len, MSG_TRUNC);
		if (n > 0)
			return (size_t)n == len ? 0 : -EBADMSG;
		if (n == 0)
			return -ECONNRESET;
		if (errno != EINTR)
			return -errno;
		rc = bench_check();
		if (rc < 0)
			return rc;
	}
}

static int
sock_send(struct bench_ctx *c, const void *buf, size_t len)
{
	if (c->mech->arg == SOCK_STREAM)
		return stream_send(c, buf, len);
	return msg_send(c, buf, len);
}

static int
sock_recv(struct bench_ctx *c, void *buf, size_t len)
{
	if (c->mech->arg == SOCK_STREAM)
		return stream_recv(c, buf, len);
	return msg_recv(c, buf, len);
}

static void
sock_fini(struct bench_ctx *c)
{
	bench_close(&c->fd[0]);
	bench_close(&c->fd[1]);
}

const struct bench_ops bench_socket_ops = {
	.setup = unix_setup,
	.attach = sock_attach,
	.send = sock_send,
	.recv = sock_recv,
	.fini = sock_fini,
};

const struct bench_ops bench_tcp_ops = {
	.setup = tcp_setup,
	.attach = sock_attach,
	.send = stream_send,
	.recv = stream_recv,
	.fini = sock_fini,
};
