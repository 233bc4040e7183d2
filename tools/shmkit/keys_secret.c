/*
 * Key bytes on the command's side of "shmkit keys" (keys_secret.h):
 * reading a key for put, from standard input or a file and never the
 * command line, and writing one for get --reveal past stdio. No message
 * here quotes any of the input: it may be a key.
 */
#include "keys_secret.h"

#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <shmkit/shmkit.h>

void
secret_lock(struct secret *s)
{
	s->locked = mlock(s, sizeof(*s)) == 0;
}

void
secret_wipe(struct secret *s)
{
	int locked = s->locked;

	explicit_bzero(s, sizeof(*s));
	if (locked)
		munlock(s, sizeof(*s));
}

/* Reads up to cap bytes, and one more to tell that there were more. */
static int
read_input(int fd, char *buf, size_t cap, size_t *len)
{
	size_t have = 0;

	while (have <= cap) {
		ssize_t r = read(fd, buf + have, cap + 1 - have);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		have += (size_t)r;
	}
	*len = have;
	return 0;
}

static int
hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Hex digits in s->text (whitespace anywhere) into s->key. -EINVAL for
 * another character or an odd count, -E2BIG past the key size. */
static int
decode_hex(struct secret *s, size_t textlen)
{
	int hi = -1;
	size_t i;

	s->len = 0;
	for (i = 0; i < textlen; i++) {
		int c = (unsigned char)s->text[i], d;

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
			continue;
		d = hex_digit(c);
		if (d < 0)
			return -EINVAL;
		if (hi < 0) {
			hi = d;
			continue;
		}
		if (s->len == SHMKIT_KEYS_KEY_MAX)
			return -E2BIG;
		s->key[s->len++] = (unsigned char)(hi << 4 | d);
		hi = -1;
	}
	return hi < 0 ? 0 : -EINVAL;
}

int
read_key(const char *cmd, const char *file, int hex, struct secret *s)
{
	size_t cap = hex ? HEX_INPUT_MAX : SHMKIT_KEYS_KEY_MAX;
	char *buf = hex ? s->text : (char *)s->key;
	const char *from = file != NULL ? file : "standard input";
	size_t len = 0;
	int fd = STDIN_FILENO, rc;

	if (file != NULL) {
		fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			cli_errorf(cmd, "%s: %s", file,
				   shmkit_strerror(-errno));
			return CLI_EXIT_FAIL;
		}
	}
	if (isatty(fd)) {
		if (fd != STDIN_FILENO)
			close(fd);
		cli_usage_error(cmd,
				"%s is a terminal, which would echo the "
				"key: pipe it in or use --file",
				from);
		return CLI_EXIT_USAGE;
	}
	rc = read_input(fd, buf, cap, &len);
	if (fd != STDIN_FILENO)
		close(fd);
	if (rc < 0) {
		cli_errorf(cmd, "%s: %s", from, shmkit_strerror(rc));
		return CLI_EXIT_FAIL;
	}
	if (len > cap) {
		cli_usage_error(cmd, "the key on %s is longer than %d bytes",
				from, SHMKIT_KEYS_KEY_MAX);
		return CLI_EXIT_USAGE;
	}
	if (hex) {
		rc = decode_hex(s, len);
		if (rc < 0) {
			if (rc == -E2BIG)
				cli_usage_error(cmd,
						"the key on %s is longer "
						"than %d bytes",
						from, SHMKIT_KEYS_KEY_MAX);
			else
				cli_usage_error(cmd,
						"%s is not hex digits "
						"in pairs (as in 00ff1a)",
						from);
			return CLI_EXIT_USAGE;
		}
	} else {
		s->len = len;
	}
	if (s->len == 0) {
		cli_usage_error(cmd, "no key bytes on %s", from);
		return CLI_EXIT_USAGE;
	}
	return 0;
}

static int
write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int
reveal(const shmkit_keys_record_t *rec, int raw, struct secret *s)
{
	static const char digits[] = "0123456789abcdef";
	size_t i, n = 0;

	if (fflush(stdout) != 0)
		return -errno;
	if (raw)
		return write_all(STDOUT_FILENO, rec->key, rec->key_len);
	n = (size_t)snprintf(s->text, sizeof(s->text), "key:      ");
	for (i = 0; i < rec->key_len; i++) {
		s->text[n++] = digits[rec->key[i] >> 4];
		s->text[n++] = digits[rec->key[i] & 15];
	}
	s->text[n++] = '\n';
	return write_all(STDOUT_FILENO, s->text, n);
}
