/*
 * demo_keys.c: the demo's "keys" section, the key store of a
 * key-management service.
 *
 * The demo plays the key-management server: it creates a key store in a
 * POSIX segment, puts the keys it agreed with two clients, then, as a
 * service that uses the keys would, opens the store again read-only and
 * looks one up, comparing the bytes with those put. It revokes a key,
 * lists the records the way "shmkit keys ls" does (never the key bytes),
 * deletes a record and removes the store. Key bytes are random, never
 * printed, and wiped from the demo's own copies when done.
 */
#include "cli.h"
#include "demo.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include <shmkit/keys.h>
#include <shmkit/shmkit.h>

#define KEYS_CAPACITY 64

/* The keys the server agreed: who with, which id, how long. */
static const struct {
	const char *client, *server;
	uint32_t key_id;
	size_t key_len;
} agreed[] = {
	{"alice", "kms-1", 101, 32},
	{"bob", "kms-1", 102, 16},
};
#define NKEYS (sizeof(agreed) / sizeof(agreed[0]))

/* Fill buf with len random bytes: 0 or a negative errno. */
static int
random_bytes(unsigned char *buf, size_t len)
{
	ssize_t n;
	size_t got = 0;

	while (got < len) {
		n = getrandom(buf + got, len - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	return 0;
}

/* Print the records like an "ls": ids, status, key id and length. */
static int
list_records(shmkit_keys_t *ks, const char *address)
{
	shmkit_keys_record_t rec;
	size_t cursor = 0;
	int rc;

	printf("\n  %-8s %-8s %-8s %6s %8s\n", "CLIENT", "SERVER", "STATUS",
	       "KEY-ID", "KEY-LEN");
	for (;;) {
		rc = shmkit_keys_next(ks, &cursor, &rec);
		if (rc == -ENOENT)
			break;
		if (rc < 0) {
			cli_error(DEMO_CMD, address, rc);
			return -1;
		}
		printf("  %-8s %-8s %-8s %6u %8zu\n", rec.client, rec.server,
		       rec.status == SHMKIT_KEYS_VALID ? "valid" : "revoked",
		       (unsigned)rec.key_id, rec.key_len);
		shmkit_keys_record_zero(&rec);
	}
	printf("\n");
	return 0;
}

/* A service's view: open read-only, look up the first key, compare. */
static int
look_up(const char *address, const unsigned char *key)
{
	shmkit_keys_record_t rec;
	shmkit_keys_t *reader;
	int rc, same;

	rc = shmkit_keys_open(&reader, address,
			      SHMKIT_KEYS_RDONLY | SHMKIT_KEYS_NOLOCK_OK);
	if (rc < 0) {
		cli_error(DEMO_CMD, address, rc);
		return -1;
	}
	rc = shmkit_keys_get(reader, agreed[0].client, agreed[0].server, &rec);
	shmkit_keys_close(reader);
	if (rc < 0) {
		cli_error(DEMO_CMD, address, rc);
		return -1;
	}
	same = rec.key_id == agreed[0].key_id &&
	       rec.key_len == agreed[0].key_len &&
	       rec.status == SHMKIT_KEYS_VALID &&
	       memcmp(rec.key, key, rec.key_len) == 0;
	shmkit_keys_record_zero(&rec);
	if (!same) {
		cli_errorf(DEMO_CMD,
			   "%s: (%s, %s) does not hold the key that was put",
			   address, agreed[0].client, agreed[0].server);
		return -1;
	}
	printf("A service opened the store read-only and looked up (%s, %s): "
	       "key id %u,\n%zu bytes, valid, the very bytes the server put "
	       "(compared, never printed).\n",
	       agreed[0].client, agreed[0].server, (unsigned)agreed[0].key_id,
	       agreed[0].key_len);
	return 0;
}

static int
keys_story(shmkit_keys_t *ks, const char *address)
{
	unsigned char key[NKEYS][SHMKIT_KEYS_KEY_MAX];
	shmkit_keys_stat_t st;
	long count;
	size_t i;
	int rc, ret = -1;

	rc = shmkit_keys_stat(ks, &st);
	if (rc < 0) {
		cli_error(DEMO_CMD, address, rc);
		return -1;
	}
	printf("Created %s (%zu bytes, mode 0600): a key store\nfor %zu "
	       "records%s.\n",
	       address, shmkit_keys_size(st.capacity), st.capacity,
	       st.locked ? ", its pages locked in memory and kept out of core "
			   "dumps"
			 : "");
	for (i = 0; i < NKEYS; i++) {
		rc = random_bytes(key[i], agreed[i].key_len);
		if (rc == 0)
			rc = shmkit_keys_put(ks, agreed[i].client,
					     agreed[i].server, agreed[i].key_id,
					     key[i], agreed[i].key_len);
		if (rc < 0) {
			cli_error(DEMO_CMD, address, rc);
			goto out;
		}
	}
	printf("The server put the keys it agreed with %s (%zu bytes) and %s "
	       "(%zu bytes).\n",
	       agreed[0].client, agreed[0].key_len, agreed[1].client,
	       agreed[1].key_len);
	if (look_up(address, key[0]) < 0)
		goto out;
	rc = shmkit_keys_revoke(ks, agreed[1].client, agreed[1].server);
	if (rc < 0) {
		cli_error(DEMO_CMD, address, rc);
		goto out;
	}
	printf("It revoked %s's key: readers now see it marked revoked. The "
	       "store holds:\n",
	       agreed[1].client);
	if (list_records(ks, address) < 0)
		goto out;
	rc = shmkit_keys_del(ks, agreed[1].client, agreed[1].server);
	count = shmkit_keys_count(ks);
	if (rc < 0 || count < 0) {
		cli_error(DEMO_CMD, address, rc < 0 ? rc : (int)count);
		goto out;
	}
	if (count != (long)NKEYS - 1) {
		cli_errorf(DEMO_CMD, "%s: %ld records, expected %zu", address,
			   count, NKEYS - 1);
		goto out;
	}
	printf("Deleted %s's record, its bytes zeroised in the segment: %ld "
	       "record left.\n",
	       agreed[1].client, count);
	ret = 0;
out:
	/* Not memset: a store to an array about to die may be dropped. */
	explicit_bzero(key, sizeof(key));
	return ret;
}

int
demo_keys(const struct demo *d)
{
	shmkit_keys_t *ks = NULL;
	char address[64];
	int ret = -1, rc;

	snprintf(address, sizeof(address), "posix:/shmkit-demo-keys-%d",
		 (int)d->pid);
	/* NOLOCK_OK: a small RLIMIT_MEMLOCK must not stop a demo; the
	 * story says whether the pages are locked. */
	rc = shmkit_keys_create(&ks, address, KEYS_CAPACITY, 0600,
				SHMKIT_KEYS_NOLOCK_OK);
	if (rc < 0) {
		cli_error(DEMO_CMD, address, rc);
		return -1;
	}
	if (keys_story(ks, address) < 0 || demo_signal)
		goto out;
	ret = 0;
out:
	shmkit_keys_close(ks);
	if (demo_removed(address, shmkit_seg_unlink_address(address)) < 0)
		ret = -1;
	return ret;
}
