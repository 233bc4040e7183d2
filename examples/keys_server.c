/*
 * keys_server: the key-management server's side of a key store.
 *
 *   keys_server [--timeout SECONDS] [ADDRESS]
 *
 * Creates the key store at ADDRESS (default posix:/shmkit-keys-example),
 * agrees a fresh key with each of three clients (here: 32 random bytes
 * each, stored under "client1".."client3" and server id "server1"),
 * revokes client3's as if that client had been retired, prints "ready",
 * and serves until SIGINT or SIGTERM (or SECONDS, default 60). Then it
 * removes the store, and with it every key.
 *
 * The services that need a key run keys_client: they read the store
 * directly, in their own processes, without asking this server.
 *
 * What a key server must get right and the classic one does not: the
 * store is 0600 (other users cannot read the keys); keys are never
 * printed; the local copy of each key is wiped once stored; replaced and
 * deleted keys are zeroised in shared memory; and the pages are locked
 * in memory and left out of core dumps (SHMKIT_KEYS_NOLOCK_OK lets it run
 * where the locked-memory limit is too small, without that protection).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <shmkit/keys.h>
#include <shmkit/shmkit.h>

#include "keys_example.h"

static const char prog[] = "keys_server";

static int
usage(FILE *f, int status)
{
	fprintf(f, "usage: %s [--timeout SECONDS] [ADDRESS]\n", prog);
	return status;
}

/* A fresh key from the kernel's random source. */
static int
new_key(unsigned char *key, size_t len)
{
	FILE *f = fopen("/dev/urandom", "rb");
	size_t n = 0;

	if (f != NULL) {
		setvbuf(f, NULL, _IONBF, 0); /* no copy in a stdio buffer */
		n = fread(key, 1, len, f);
		fclose(f);
	}
	return n == len ? 0 : -EIO;
}

/* Waits for SIGINT or SIGTERM, at most seconds. */
static void
serve(long seconds)
{
	struct timespec limit = {seconds, 0};
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	while (sigtimedwait(&set, NULL, &limit) < 0 && errno == EINTR)
		;
}

int
main(int argc, char **argv)
{
	static const char *const clients[] = {"client1", "client2", "client3"};
	const char *address = KEYS_EXAMPLE_ADDRESS;
	unsigned char key[32];
	shmkit_keys_t *ks;
	long seconds = 60;
	sigset_t set;
	int i, rc, status = 1;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0)
			return usage(stdout, 0);
		if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
			seconds = atol(argv[++i]);
		else if (argv[i][0] == '-' || i != argc - 1)
			return usage(stderr, 2);
		else
			address = argv[i];
	}
	if (seconds <= 0)
		return usage(stderr, 2);

	/* Block the signals before anything exists to clean up: they are
	 * taken by sigtimedwait() in serve(), never by a handler that
	 * would have to remove the store from signal context. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);

	/* Exclusive create, mode 0600. A store already there belongs to
	 * another server (or a crashed run): we do not take it over. */
	rc = shmkit_keys_create(&ks, address, KEYS_EXAMPLE_CAPACITY, 0600,
				SHMKIT_KEYS_NOLOCK_OK);
	if (rc < 0) {
		fprintf(stderr, "%s: cannot create %s: %s\n", prog, address,
			shmkit_strerror(rc));
		return 1;
	}
	for (i = 0; i < 3; i++) {
		rc = new_key(key, sizeof(key));
		if (rc == 0)
			rc = shmkit_keys_put(
				ks, clients[i], KEYS_EXAMPLE_SERVER,
				(uint32_t)(100 + i), key, sizeof(key));
		/* The store has it now; this copy must not linger. */
		memset(key, 0, sizeof(key));
		if (rc < 0) {
			fprintf(stderr, "%s: cannot store the key of %s: %s\n",
				prog, clients[i], shmkit_strerror(rc));
			goto out;
		}
		printf("stored key %d for %s/%s\n", 100 + i, clients[i],
		       KEYS_EXAMPLE_SERVER);
	}
	rc = shmkit_keys_revoke(ks, "client3", KEYS_EXAMPLE_SERVER);
	if (rc < 0) {
		fprintf(stderr, "%s: cannot revoke: %s\n", prog,
			shmkit_strerror(rc));
		goto out;
	}
	printf("revoked the key of client3/%s\n", KEYS_EXAMPLE_SERVER);
	printf("ready: %s holds %ld keys\n", address, shmkit_keys_count(ks));
	fflush(stdout);

	serve(seconds);
	printf("stopping, removing %s\n", address);
	status = 0;
out:
	shmkit_keys_close(ks);
	rc = shmkit_seg_unlink_address(address);
	if (rc < 0) {
		fprintf(stderr, "%s: cannot remove %s: %s\n", prog, address,
			shmkit_strerror(rc));
		status = 1;
	}
	return status;
}
