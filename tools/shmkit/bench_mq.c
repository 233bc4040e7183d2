/*
 * bench_mq.c: POSIX message queues (mq_open) and System V message queues
 * (msgget).
 *
 * Both carry whole messages up to a limit the administrator sets: POSIX
 * fs.mqueue.msgsize_max (8 KiB by default; a privileged process may go
 * higher, within RLIMIT_MSGQUEUE) and System V kernel.msgmax (8 KiB). A
 * size beyond the limit is reported n/a with the limit named.
 *
 * POSIX: two queues, one per direction, unlinked as soon as they are open
 * (the descriptors survive fork). System V queues have no such trick: the
 * single queue (message type 1 towards the child, 2 towards the parent)
 * exists until fini() removes it, which the driver guarantees on every
 * path, interruption included.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <unistd.h>

static long
read_limit(const char *path, long dflt)
{
	long v = dflt;
	FILE *f = fopen(path, "re");

	if (f == NULL)
		return dflt;
	if (fscanf(f, "%ld", &v) != 1)
		v = dflt;
	fclose(f);
	return v;
}

static int
mq_open_one(struct bench_ctx *c, int i, long maxmsg)
{
	struct mq_attr attr;
	char name[64];
	int rc = 0;

	memset(&attr, 0, sizeof(attr));
	attr.mq_maxmsg = maxmsg;
	attr.mq_msgsize = (long)c->size;
	snprintf(name, sizeof(name), "/shmkit-bench-%ld-%d", (long)getpid(),
		 i);
	c->mq[i] = mq_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600,
			   &attr);
	if (c->mq[i] == (mqd_t)-1)
		rc = -errno;
	else
		mq_unlink(name); /* the descriptor is all we need */
	return rc;
}

static void
mq_close_all(struct bench_ctx *c)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (c->mq[i] != (mqd_t)-1)
			mq_close(c->mq[i]);
		c->mq[i] = (mqd_t)-1;
	}
}

static int
posix_mq_setup(struct bench_ctx *c)
{
	long max = read_limit("/proc/sys/fs/mqueue/msg_max", 10);
	long maxmsg;
	int rc = -EINVAL;

	if (max > 8)
		max = 8;
	/* Fewer messages in flight if RLIMIT_MSGQUEUE cannot hold more. */
	for (maxmsg = max; maxmsg >= 1; maxmsg /= 2) {
		rc = mq_open_one(c, 0, maxmsg);
		if (rc == 0)
			rc = mq_open_one(c, 1, maxmsg);
		if (rc == 0)
			return 0;
		mq_close_all(c);
		if (rc != -EMFILE && rc != -ENOMEM)
			break;
	}
	if (rc == -EINVAL || rc == -EMFILE || rc == -ENOMEM) {
		snprintf(c->why, sizeof(c->why),
			 "a %zu-byte message exceeds the queue limits "
			 "(fs.mqueue.msgsize_max %ld, RLIMIT_MSGQUEUE)",
			 c->size,
			 read_limit("/proc/sys/fs/mqueue/msgsize_max", 8192));
		return -EMSGSIZE;
	}
	snprintf(c->why, sizeof(c->why), "mq_open");
	return rc;
}

static int
posix_mq_send(struct bench_ctx *c, const void *buf, size_t len)
{
	mqd_t q = c->mq[c->side == BENCH_PARENT ? 0 : 1];
	int rc;

	while (mq_send(q, buf, len, 0) < 0) {
		if (errno != EINTR)
			return -errno;
		rc = bench_check();
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int
posix_mq_recv(struct bench_ctx *c, void *buf, size_t len)
{
	mqd_t q = c->mq[c->side == BENCH_PARENT ? 1 : 0];
	ssize_t n;
	int rc;

	for (;;) {
		/* len is the queue's mq_msgsize, as mq_receive requires. */
		n = mq_receive(q, buf, len, NULL);
		if (n >= 0)
			return (size_t)n == len ? 0 : -EBADMSG;
		if (errno != EINTR)
			return -errno;
		rc = bench_check();
		if (rc < 0)
			return rc;
	}
}

static void
posix_mq_fini(struct bench_ctx *c)
{
	mq_close_all(c);
}

static int
sysv_msg_setup(struct bench_ctx *c)
{
	long msgmax = read_limit("/proc/sys/kernel/msgmax", 8192);
	long msgmnb = read_limit("/proc/sys/kernel/msgmnb", 16384);

	if ((long)c->size > msgmax || (long)c->size > msgmnb) {
		snprintf(c->why, sizeof(c->why),
			 "a %zu-byte message exceeds kernel.msgmax (%ld) or "
			 "kernel.msgmnb (%ld)", c->size, msgmax, msgmnb);
		return -EMSGSIZE;
	}
	c->buf = malloc(sizeof(long) + c->size);
	if (c->buf == NULL)
		return -ENOMEM;
	/* IPC_PRIVATE: a fresh queue no other program can stumble on. */
	c->msqid = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	if (c->msqid < 0) {
		int rc = -errno;

		free(c->buf);
		c->buf = NULL;
		snprintf(c->why, sizeof(c->why), "msgget");
		return rc;
	}
	return 0;
}

static int
sysv_msg_send(struct bench_ctx *c, const void *buf, size_t len)
{
	long *m = c->buf;
	int rc;

	*m = c->side == BENCH_PARENT ? 1 : 2;
	memcpy(m + 1, buf, len);
	while (msgsnd(c->msqid, m, len, 0) < 0) {
		if (errno != EINTR)
			return -errno;
		rc = bench_check();
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int
sysv_msg_recv(struct bench_ctx *c, void *buf, size_t len)
{
	long *m = c->buf;
	ssize_t n;
	int rc;

	for (;;) {
		n = msgrcv(c->msqid, m, len, c->side == BENCH_PARENT ? 2 : 1,
			   0);
		if (n >= 0)
			break;
		if (errno != EINTR)
			return -errno;
		rc = bench_check();
		if (rc < 0)
			return rc;
	}
	if ((size_t)n != len)
		return -EBADMSG;
	memcpy(buf, m + 1, len);
	return 0;
}

static void
sysv_msg_fini(struct bench_ctx *c)
{
	if (c->msqid >= 0)
		msgctl(c->msqid, IPC_RMID, NULL);
	c->msqid = -1;
	free(c->buf);
	c->buf = NULL;
}

const struct bench_ops bench_posix_mq_ops = {
	.setup = posix_mq_setup,
	.send = posix_mq_send,
	.recv = posix_mq_recv,
	.fini = posix_mq_fini,
};

const struct bench_ops bench_sysv_msg_ops = {
	.setup = sysv_msg_setup,
	.send = sysv_msg_send,
	.recv = sysv_msg_recv,
	.fini = sysv_msg_fini,
};
