/*
 * The key store: records keyed by (client id, server id) in a shared hash
 * table in secure mode, object kind SHMKIT_OBJ_KEYS.
 *
 * The table does the sharing, locking, crash safety, zeroising and
 * memory locking; this file fixes the record layout, validates what
 * callers pass in, and validates every record it reads back, since any
 * process that can write the segment can write anything into it.
 *
 * A table key is the two ids, each NUL-padded to SHMKIT_KEYS_ID_MAX bytes;
 * a table value is struct keys_value. Buffers on this side that held key
 * bytes are wiped with explicit_bzero() before they go out of scope.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/internal.h"
#include "keys/keys_impl.h"
#include "table/table_impl.h"

#define ID_MAX	  SHMKIT_KEYS_ID_MAX
#define TKEY_SIZE (2 * ID_MAX)

/* A record's value as it lies in the table. Fixed sizes only: 32- and
 * 64-bit builds share it (the object fingerprint checks the rest). */
struct keys_value {
	uint32_t status; /* shmkit_keys_status_t */
	uint32_t key_id;
	uint32_t key_len; /* <= SHMKIT_KEYS_KEY_MAX */
	uint32_t reserved;
	int64_t created_ns;
	int64_t updated_ns;
	uint8_t key[SHMKIT_KEYS_KEY_MAX];
};
_Static_assert(sizeof(struct keys_value) == 160, "shared ABI");

struct shmkit_keys {
	shmkit_table_t *t;
};

static void
table_opts(shmkit_table_opts_t *o, size_t capacity, mode_t mode, unsigned flags)
{
	memset(o, 0, sizeof(*o));
	o->capacity = capacity;
	o->key_size = TKEY_SIZE;
	o->value_size = sizeof(struct keys_value);
	o->flags =
		SHMKIT_TABLE_SECURE |
		((flags & SHMKIT_KEYS_NOLOCK_OK) ? SHMKIT_TABLE_NOLOCK_OK : 0);
	o->mode = mode;
}

static unsigned
table_flags(unsigned flags)
{
	return ((flags & SHMKIT_KEYS_RDONLY) ? SHMKIT_TABLE_RDONLY : 0) |
	       ((flags & SHMKIT_KEYS_NOLOCK_OK) ? SHMKIT_TABLE_NOLOCK_OK : 0);
}

static int
valid_capacity(size_t capacity)
{
	return capacity >= 1 && capacity <= SHMKIT_KEYS_CAPACITY_MAX;
}

/*
 * What a store must be for this file's buffers (a table key of TKEY_SIZE
 * bytes, a value of struct keys_value) to be the right size: checked when
 * the table is opened, since a peer may rewrite the sizes to others of
 * the same slot stride. Secure too, so the peer cannot switch the
 * zeroising and locking off.
 */
static const shmkit__table_expect_t expect = {
	.key_size = TKEY_SIZE,
	.value_size = sizeof(struct keys_value),
	.capacity_min = 1,
	.capacity_max = SHMKIT_KEYS_CAPACITY_MAX,
	.flags = SHMKIT_TABLE_SECURE,
};

/* Builds the table key; -EINVAL unless both ids are 1..ID_MAX bytes. */
static int
make_tkey(unsigned char tkey[TKEY_SIZE], const char *client, const char *server)
{
	size_t cl, sl;

	if (client == NULL || server == NULL)
		return -EINVAL;
	cl = strnlen(client, ID_MAX + 1);
	sl = strnlen(server, ID_MAX + 1);
	if (cl == 0 || cl > ID_MAX || sl == 0 || sl > ID_MAX)
		return -EINVAL;
	memset(tkey, 0, TKEY_SIZE);
	memcpy(tkey, client, cl);
	memcpy(tkey + ID_MAX, server, sl);
	return 0;
}

/* An id field from the segment: 1..ID_MAX bytes, then only NULs. */
static int
read_id(char out[ID_MAX + 1], const unsigned char *field)
{
	size_t n = strnlen((const char *)field, ID_MAX), i;

	if (n == 0)
		return SHMKIT_ECORRUPT;
	for (i = n; i < ID_MAX; i++)
		if (field[i] != 0)
			return SHMKIT_ECORRUPT;
	memcpy(out, field, n);
	out[n] = '\0';
	return 0;
}

/* 1 if a value copied out of the table has a known status and a key
 * length within bounds, else 0. */
static int
value_sound(const struct keys_value *v)
{
	return (v->status == SHMKIT_KEYS_VALID ||
		v->status == SHMKIT_KEYS_REVOKED) &&
	       v->key_len <= SHMKIT_KEYS_KEY_MAX;
}

/* Checks a value copied out of the table and fills *rec (tkey may be
 * NULL when the caller fills the ids). */
static int
decode(shmkit_keys_record_t *rec, const unsigned char *tkey,
       const struct keys_value *v)
{
	if (!value_sound(v))
		return SHMKIT_ECORRUPT;
	if (tkey != NULL && (read_id(rec->client, tkey) < 0 ||
			     read_id(rec->server, tkey + ID_MAX) < 0))
		return SHMKIT_ECORRUPT;
	rec->status = (shmkit_keys_status_t)v->status;
	rec->key_id = v->key_id;
	rec->key_len = v->key_len;
	memset(rec->key, 0, sizeof(rec->key));
	memcpy(rec->key, v->key, v->key_len);
	rec->created_ns = v->created_ns;
	rec->updated_ns = v->updated_ns;
	return 0;
}

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
wrap(shmkit_keys_t **out, shmkit_table_t *t)
{
	shmkit_keys_t *ks = malloc(sizeof(*ks));

	if (ks == NULL) {
		shmkit_table_close(t);
		return -ENOMEM;
	}
	ks->t = t;
	*out = ks;
	return 0;
}

size_t
shmkit_keys_size(size_t capacity)
{
	shmkit_table_opts_t o;

	if (!valid_capacity(capacity))
		return 0;
	table_opts(&o, capacity, 0, 0);
	return shmkit_table_size(&o);
}

int
shmkit_keys_create(shmkit_keys_t **out, const char *address, size_t capacity,
		   mode_t mode, unsigned flags)
{
	shmkit_table_opts_t o;
	shmkit_table_t *t;
	int rc;

	if (out == NULL || address == NULL || !valid_capacity(capacity) ||
	    (flags & ~SHMKIT_KEYS_NOLOCK_OK))
		return -EINVAL;
	table_opts(&o, capacity, mode, flags);
	rc = shmkit__table_create_kind(&t, address, &o, SHMKIT_OBJ_KEYS,
				       SHMKIT__KEYS_VERSION);
	if (rc < 0)
		return rc;
	return wrap(out, t);
}

/* Opens the store in seg, or at address when seg is NULL. */
static int
open_store(shmkit_keys_t **out, const char *address, shmkit_seg_t *seg,
	   unsigned flags)
{
	shmkit_table_t *t;
	int rc;

	if (out == NULL ||
	    (flags & ~(SHMKIT_KEYS_RDONLY | SHMKIT_KEYS_NOLOCK_OK)))
		return -EINVAL;
	if (seg != NULL)
		rc = shmkit__table_open_seg(&t, seg, table_flags(flags),
					    SHMKIT_OBJ_KEYS,
					    SHMKIT__KEYS_VERSION, &expect);
	else
		rc = shmkit__table_open_kind(&t, address, table_flags(flags),
					     SHMKIT_OBJ_KEYS,
					     SHMKIT__KEYS_VERSION, &expect);
	if (rc < 0)
		return rc;
	return wrap(out, t);
}

int
shmkit_keys_open(shmkit_keys_t **out, const char *address, unsigned flags)
{
	if (address == NULL)
		return -EINVAL;
	return open_store(out, address, NULL, flags);
}

int
shmkit__keys_format_seg(shmkit_seg_t *seg, size_t capacity, unsigned flags)
{
	shmkit_table_opts_t o;

	if (seg == NULL || !valid_capacity(capacity))
		return -EINVAL;
	table_opts(&o, capacity, 0, flags);
	return shmkit__table_format_seg(seg, &o, SHMKIT_OBJ_KEYS,
					SHMKIT__KEYS_VERSION);
}

int
shmkit__keys_open_seg(shmkit_keys_t **out, shmkit_seg_t *seg, unsigned flags)
{
	if (seg == NULL)
		return -EINVAL;
	return open_store(out, NULL, seg, flags);
}

int
shmkit_keys_close(shmkit_keys_t *ks)
{
	int rc;

	if (ks == NULL)
		return 0;
	rc = shmkit_table_close(ks->t);
	free(ks);
	return rc;
}

/* Under the writer mutex (shmkit__table_update()): the new value, with
 * the created time of the record it replaces. */
static int
write_fn(void *value, int found, void *arg)
{
	struct keys_value *old = value;
	const struct keys_value *v = arg;
	int64_t created = found ? old->created_ns : v->created_ns;

	memcpy(old, v, sizeof(*v));
	old->created_ns = created;
	return 0;
}

/*
 * Puts the new value, keeping the old record's created time. The read
 * and the write are one table update under the writer mutex, so no other
 * writer of the same pair slips between them.
 */
int
shmkit__keys_write(shmkit_keys_t *ks, const char *client, const char *server,
		   shmkit_keys_status_t status, uint32_t key_id,
		   const void *key, size_t key_len)
{
	unsigned char tkey[TKEY_SIZE];
	struct keys_value v;
	int rc;

	if (ks == NULL || key_len > SHMKIT_KEYS_KEY_MAX ||
	    (key == NULL && key_len > 0) ||
	    (status != SHMKIT_KEYS_VALID && status != SHMKIT_KEYS_REVOKED))
		return -EINVAL;
	rc = make_tkey(tkey, client, server);
	if (rc < 0)
		return rc;
	memset(&v, 0, sizeof(v));
	v.status = (uint32_t)status;
	v.key_id = key_id;
	v.key_len = (uint32_t)key_len;
	v.updated_ns = now_ns();
	v.created_ns = v.updated_ns;
	if (key_len > 0)
		memcpy(v.key, key, key_len);
	rc = shmkit__table_update(ks->t, tkey, write_fn, &v,
				  SHMKIT__TABLE_INSERT);
	explicit_bzero(&v, sizeof(v));
	return rc;
}

int
shmkit_keys_put(shmkit_keys_t *ks, const char *client, const char *server,
		uint32_t key_id, const void *key, size_t key_len)
{
	return shmkit__keys_write(ks, client, server, SHMKIT_KEYS_VALID, key_id,
				  key, key_len);
}

int
shmkit_keys_get(shmkit_keys_t *ks, const char *client, const char *server,
		shmkit_keys_record_t *rec)
{
	unsigned char tkey[TKEY_SIZE];
	shmkit_keys_record_t tmp;
	struct keys_value v;
	int rc;

	if (ks == NULL || rec == NULL)
		return -EINVAL;
	rc = make_tkey(tkey, client, server);
	if (rc < 0)
		return rc;
	rc = shmkit_table_get(ks->t, tkey, &v);
	if (rc == 0)
		rc = decode(&tmp, tkey, &v);
	if (rc == 0)
		memcpy(rec, &tmp, sizeof(tmp));
	explicit_bzero(&v, sizeof(v));
	explicit_bzero(&tmp, sizeof(tmp));
	return rc;
}

int
shmkit_keys_del(shmkit_keys_t *ks, const char *client, const char *server)
{
	unsigned char tkey[TKEY_SIZE];
	int rc;

	if (ks == NULL)
		return -EINVAL;
	rc = make_tkey(tkey, client, server);
	if (rc < 0)
		return rc;
	return shmkit_table_del(ks->t, tkey);
}

/* revoke_fn(): the record was revoked already; left as it is. */
#define ALREADY_REVOKED 2

/* Under the writer mutex (shmkit__table_update()): mark the record
 * revoked, unless it is corrupt or revoked already. */
static int
revoke_fn(void *value, int found, void *arg)
{
	struct keys_value *v = value;

	(void)found; /* always 1: no SHMKIT__TABLE_INSERT */
	(void)arg;
	if (!value_sound(v))
		return SHMKIT_ECORRUPT;
	if (v->status == SHMKIT_KEYS_REVOKED)
		return ALREADY_REVOKED;
	v->status = SHMKIT_KEYS_REVOKED;
	v->updated_ns = now_ns();
	return 0;
}

/*
 * Read, mark and write back as one table update under the writer mutex:
 * a del of the same pair lands before it (then -ENOENT) or after it,
 * never in between, where the write would bring the deleted key back.
 */
int
shmkit_keys_revoke(shmkit_keys_t *ks, const char *client, const char *server)
{
	unsigned char tkey[TKEY_SIZE];
	int rc;

	if (ks == NULL)
		return -EINVAL;
	rc = make_tkey(tkey, client, server);
	if (rc < 0)
		return rc;
	rc = shmkit__table_update(ks->t, tkey, revoke_fn, NULL, 0);
	if (rc == ALREADY_REVOKED)
		return 1;
	return rc < 0 ? rc : 0;
}

int
shmkit_keys_next(shmkit_keys_t *ks, size_t *cursor, shmkit_keys_record_t *rec)
{
	unsigned char tkey[TKEY_SIZE];
	shmkit_keys_record_t tmp;
	struct keys_value v;
	size_t c;
	int rc;

	if (ks == NULL || cursor == NULL || rec == NULL)
		return -EINVAL;
	c = *cursor;
	rc = shmkit_table_next(ks->t, &c, tkey, &v);
	if (rc == 0) {
		/* Past a corrupt record too, so a lister can carry on. */
		*cursor = c;
		rc = decode(&tmp, tkey, &v);
	}
	if (rc == 0)
		memcpy(rec, &tmp, sizeof(tmp));
	explicit_bzero(&v, sizeof(v));
	explicit_bzero(&tmp, sizeof(tmp));
	return rc;
}

long
shmkit_keys_count(shmkit_keys_t *ks)
{
	if (ks == NULL)
		return -EINVAL;
	return shmkit_table_count(ks->t);
}

int
shmkit_keys_stat(shmkit_keys_t *ks, shmkit_keys_stat_t *st)
{
	shmkit_table_stat_t ts;
	int rc;

	if (ks == NULL || st == NULL)
		return -EINVAL;
	rc = shmkit_table_stat(ks->t, &ts);
	if (rc < 0)
		return rc;
	st->capacity = ts.capacity;
	st->count = ts.count;
	st->locked = ts.locked;
	return 0;
}

void
shmkit_keys_record_zero(shmkit_keys_record_t *rec)
{
	if (rec != NULL)
		explicit_bzero(rec, sizeof(*rec));
}
