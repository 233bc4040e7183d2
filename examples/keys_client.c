/*
 * keys_client: a service that needs the key it shares with a server.
 *
 *   keys_client CLIENT [ADDRESS]
 *
 * Opens the key store that keys_server made at ADDRESS (default
 * posix:/shmkit-keys-example) read-only and looks up the record of
 * (CLIENT, "server1"): one hash lookup in shared memory, no message to
 * the server. Prints the key id and length, never the key. Exits 0 when
 * the key is there and valid, 1 when it is missing or revoked (a service
 * must then stop using it and ask for a new one).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <shmkit/keys.h>
#include <shmkit/shmkit.h>

#include "keys_example.h"

static const char prog[] = "keys_client";

int
main(int argc, char **argv)
{
	const char *address = KEYS_EXAMPLE_ADDRESS, *client;
	shmkit_keys_record_t rec;
	shmkit_keys_t *ks;
	int rc, status = 1;

	if (argc < 2 || argc > 3 || argv[1][0] == '-') {
		fprintf(stderr, "usage: %s CLIENT [ADDRESS]\n", prog);
		return 2;
	}
	client = argv[1];
	if (argc == 3)
		address = argv[2];

	/* Read-only: a reader cannot damage the store by mistake. */
	rc = shmkit_keys_open(&ks, address,
			      SHMKIT_KEYS_RDONLY | SHMKIT_KEYS_NOLOCK_OK);
	if (rc < 0) {
		fprintf(stderr, "%s: cannot open %s: %s\n", prog, address,
			shmkit_strerror(rc));
		return 1;
	}
	rc = shmkit_keys_get(ks, client, KEYS_EXAMPLE_SERVER, &rec);
	if (rc == -ENOENT) {
		printf("%s/%s: no key\n", client, KEYS_EXAMPLE_SERVER);
	} else if (rc < 0) {
		fprintf(stderr, "%s: %s/%s: %s\n", prog, client,
			KEYS_EXAMPLE_SERVER, shmkit_strerror(rc));
	} else if (rec.status == SHMKIT_KEYS_REVOKED) {
		printf("%s/%s: key %u is revoked\n", client,
		       KEYS_EXAMPLE_SERVER, (unsigned)rec.key_id);
	} else {
		/* Here the service would use rec.key[0..key_len). */
		printf("%s/%s: key %u, %zu bytes, valid\n", client,
		       KEYS_EXAMPLE_SERVER, (unsigned)rec.key_id, rec.key_len);
		status = 0;
	}
	/* Done with the key: wipe our copy. */
	shmkit_keys_record_zero(&rec);
	shmkit_keys_close(ks);
	return status;
}
