/*
 * keys_secret.h: key bytes on the command's side of "shmkit keys": the
 * buffer that holds them, reading a key for put and writing one for
 * get --reveal. cmd_keys.c holds the commands.
 */
#ifndef SHMKIT_CLI_KEYS_SECRET_H
#define SHMKIT_CLI_KEYS_SECRET_H

#include <stddef.h>

#include <shmkit/keys.h>

/* Hex text of a key with whitespace: generous room for 128 bytes. */
#define HEX_INPUT_MAX 1024

/* Key bytes on this side: locked in memory where allowed, wiped after. */
struct secret {
	unsigned char key[SHMKIT_KEYS_KEY_MAX + 1];
	char text[HEX_INPUT_MAX + 1];
	size_t len;
	int locked;
};

/* secret_lock - lock *s in memory if the limits allow (s->locked says). */
void secret_lock(struct secret *s);

/* secret_wipe - zero all of *s where the compiler cannot drop it, and
 * unlock it. */
void secret_wipe(struct secret *s);

/*
 * read_key - read the key for command CMD from FILE, or standard input if
 * FILE is NULL, into s->key and s->len: raw bytes (1 to
 * SHMKIT_KEYS_KEY_MAX, stored as they are, a trailing newline included)
 * or with HEX hex digits, whitespace ignored. A terminal is refused (it
 * would echo the key). Returns 0, or a CLI exit status after reporting
 * the failure without quoting any of the input.
 */
int read_key(const char *cmd, const char *file, int hex, struct secret *s);

/*
 * reveal - write the key of *rec to standard output: its raw bytes with
 * RAW, else a line "key:      <hex>" built in s->text. Straight to fd 1,
 * past stdio (flushed first), so no copy stays in a buffer that is
 * never wiped. 0 or a negative errno.
 */
int reveal(const shmkit_keys_record_t *rec, int raw, struct secret *s);

#endif /* SHMKIT_CLI_KEYS_SECRET_H */
