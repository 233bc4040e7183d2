/*
 * The structured-object header: probing a mapping for a shmkit object.
 * The objects themselves (channels, tables) write the header with
 * shmkit__obj_hdr_init() and publish it with shmkit__obj_hdr_ready(); the
 * probe here is what every reader, and the shmkit command, relies on to
 * look at one without trusting it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <shmkit/obj.h>

#include "common/internal.h"
#include "obj/obj_impl.h"

_Static_assert(sizeof(shmkit_obj_hdr_t) == SHMKIT_OBJ_HDR_SIZE,
	       "shared ABI: object header is 64 bytes");
_Static_assert(offsetof(shmkit_obj_hdr_t, size) == 16,
	       "shared ABI: size at offset 16");

/* Highest layout version of each kind this build understands. */
static unsigned
known_version(unsigned kind)
{
	switch ((shmkit_obj_kind_t)kind) {
	case SHMKIT_OBJ_CHAN:
		return SHMKIT__OBJ_CHAN_VERSION;
	case SHMKIT_OBJ_TABLE:
	case SHMKIT_OBJ_KEYS:
		return 1;
	}
	return 0;
}

/* Lowest: a channel of version 1 may have peers of version 1 attached,
 * which publish and read batches otherwise (CHAN_VERSION). */
static unsigned
oldest_version(unsigned kind)
{
	return kind == SHMKIT_OBJ_CHAN ? SHMKIT__OBJ_CHAN_VERSION : 1;
}

uint32_t
shmkit__obj_fingerprint(void)
{
	/* Sizes and alignments the shared layouts depend on. Two builds
	 * with equal values lay out every object the same way. */
	return (uint32_t)(sizeof(void *) << 24 | sizeof(long) << 16 |
			  _Alignof(uint64_t) << 8 | sizeof(size_t));
}

uint64_t
shmkit__proc_start_time(int pid)
{
	char path[64], buf[1024];
	unsigned long long start = 0;
	const char *p;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: fields start
	 * after its last ')'. starttime is field 22; we are at field 2. */
	p = strrchr(buf, ')');
	if (p == NULL)
		return 0;
	for (field = 2; field < 22 && p != NULL; field++)
		p = strchr(p + 1, ' ');
	if (p == NULL || sscanf(p + 1, "%llu", &start) != 1)
		return 0;
	return start;
}

int
shmkit__proc_alive(int pid, uint64_t start)
{
	uint64_t now = shmkit__proc_start_time(pid);

	if (now != 0)
		return now == start; /* a recycled pid has another start */
	if (kill(pid, 0) < 0 && errno == ESRCH)
		return 0;
	return -1; /* exists, but /proc/PID/stat is hidden from us */
}

void
shmkit__obj_hdr_init(shmkit_obj_hdr_t *h, shmkit_obj_kind_t kind,
		     unsigned version, uint64_t size)
{
	int pid = (int)getpid();

	memset(h, 0, sizeof(*h));
	h->kind = (uint16_t)kind;
	h->version = (uint16_t)version;
	h->fingerprint = shmkit__obj_fingerprint();
	h->size = size;
	h->creator_pid = pid;
	h->creator_start = shmkit__proc_start_time(pid);
	/* Relaxed: nobody trusts the object before the magic and the READY
	 * state are published by shmkit__obj_hdr_ready(). */
	__atomic_store_n(&h->state, SHMKIT_OBJ_STATE_INIT, __ATOMIC_RELAXED);
	__atomic_store_n(&h->magic, SHMKIT_OBJ_MAGIC, __ATOMIC_RELAXED);
}

void
shmkit__obj_hdr_ready(shmkit_obj_hdr_t *h)
{
	/* Release: publishes the header and the object body written before
	 * it; pairs with the acquire load of the state in each kind's open. */
	__atomic_store_n(&h->state, SHMKIT_OBJ_STATE_READY, __ATOMIC_RELEASE);
}

SHMKIT_API int
shmkit_obj_probe(const void *mem, size_t len, shmkit_obj_info_t *info)
{
	const volatile shmkit_obj_hdr_t *h = mem;
	shmkit_obj_info_t out;
	uint32_t magic, fingerprint, state;
	uint16_t kind, version;

	if (mem == NULL || info == NULL)
		return -EINVAL;
	if (len < SHMKIT_OBJ_HDR_SIZE)
		return SHMKIT_ENOTOBJ;
	/* One read of each field (volatile: the compiler may not re-read a
	 * value a peer can change between check and use). */
	magic = h->magic;
	if (magic != SHMKIT_OBJ_MAGIC)
		return SHMKIT_ENOTOBJ;
	kind = h->kind;
	version = h->version;
	fingerprint = h->fingerprint;
	state = h->state;
	memset(&out, 0, sizeof(out));
	out.kind = (shmkit_obj_kind_t)kind;
	out.version = version;
	out.state = (shmkit_obj_state_t)state;
	out.size = h->size;
	out.creator_pid = h->creator_pid;
	out.creator_start = h->creator_start;
	out.creator_alive = -1;
	if (out.creator_pid > 0)
		out.creator_alive = shmkit__proc_alive(out.creator_pid,
						       out.creator_start);
	*info = out;
	if (known_version(kind) == 0 || state < SHMKIT_OBJ_STATE_INIT ||
	    state > SHMKIT_OBJ_STATE_BROKEN || out.size < SHMKIT_OBJ_HDR_SIZE ||
	    out.size > len)
		return SHMKIT_ECORRUPT;
	if (fingerprint != shmkit__obj_fingerprint())
		return SHMKIT_EABI;
	if (version < oldest_version(kind) || version > known_version(kind))
		return SHMKIT_EVERSION;
	return 0;
}

SHMKIT_API const char *
shmkit_obj_kind_name(shmkit_obj_kind_t kind)
{
	switch (kind) {
	case SHMKIT_OBJ_CHAN:
		return "chan";
	case SHMKIT_OBJ_TABLE:
		return "table";
	case SHMKIT_OBJ_KEYS:
		return "keys";
	}
	return "?";
}

SHMKIT_API const char *
shmkit_obj_state_name(shmkit_obj_state_t state)
{
	switch (state) {
	case SHMKIT_OBJ_STATE_INIT:
		return "init";
	case SHMKIT_OBJ_STATE_READY:
		return "ready";
	case SHMKIT_OBJ_STATE_BROKEN:
		return "broken";
	}
	return "?";
}
