/*
 * keys_example.h: what keys_server and keys_client agree on: where the
 * key store lives and which server id the keys are for. The store itself
 * needs no shared struct: <shmkit/keys.h> fixes its layout.
 */
#ifndef KEYS_EXAMPLE_H
#define KEYS_EXAMPLE_H

/* Pass your own address as the last argument when you can (the tests
 * do): two runs on one machine must not share a store by accident. */
#define KEYS_EXAMPLE_ADDRESS "posix:/shmkit-keys-example"

/* The server's own id; each record is (client id, this). */
#define KEYS_EXAMPLE_SERVER "server1"

/* Room for this many records: the key-management server sizes the store
 * for every client it may ever serve at once. */
#define KEYS_EXAMPLE_CAPACITY 64

#endif /* KEYS_EXAMPLE_H */
