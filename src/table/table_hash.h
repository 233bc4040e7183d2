/*
 * The table's keyed hash: SipHash-1-3 (Aumasson and Bernstein, "SipHash:
 * a fast short-input PRF", 2012; one compression and three finalisation
 * rounds, as several language runtimes use for their hash tables), keyed
 * with the table's random seed, so peers cannot choose keys that collide
 * without knowing it. Inline: it sits on every lookup's path.
 */
#ifndef SHMKIT_TABLE_HASH_H
#define SHMKIT_TABLE_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "table/table_layout.h"

#define SIP_ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIP_ROUND(v0, v1, v2, v3)                                              \
	do {                                                                   \
		v0 += v1;                                                      \
		v1 = SIP_ROTL(v1, 13);                                         \
		v1 ^= v0;                                                      \
		v0 = SIP_ROTL(v0, 32);                                         \
		v2 += v3;                                                      \
		v3 = SIP_ROTL(v3, 16);                                         \
		v3 ^= v2;                                                      \
		v0 += v3;                                                      \
		v3 = SIP_ROTL(v3, 21);                                         \
		v3 ^= v0;                                                      \
		v2 += v1;                                                      \
		v1 = SIP_ROTL(v1, 17);                                         \
		v1 ^= v2;                                                      \
		v2 = SIP_ROTL(v2, 32);                                         \
	} while (0)

/* SipHash-c-d of len bytes at data under the key (k0, k1), words read
 * little-endian as the specification says. */
static inline uint64_t
shmkit__siphash(uint64_t k0, uint64_t k1, const void *data, size_t len,
		unsigned c, unsigned d)
{
	const unsigned char *p = data;
	uint64_t v0 = k0 ^ 0x736f6d6570736575ull;
	uint64_t v1 = k1 ^ 0x646f72616e646f6dull;
	uint64_t v2 = k0 ^ 0x6c7967656e657261ull;
	uint64_t v3 = k1 ^ 0x7465646279746573ull;
	uint64_t m, b = (uint64_t)len << 56;
	size_t left = len;
	unsigned i;

	for (; left >= 8; left -= 8, p += 8) {
		memcpy(&m, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		m = __builtin_bswap64(m);
#endif
		v3 ^= m;
		for (i = 0; i < c; i++)
			SIP_ROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	for (i = 0; i < left; i++)
		b |= (uint64_t)p[i] << (8 * i);
	v3 ^= b;
	for (i = 0; i < c; i++)
		SIP_ROUND(v0, v1, v2, v3);
	v0 ^= b;
	v2 ^= 0xff;
	for (i = 0; i < d; i++)
		SIP_ROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

/*
 * The key padded into words as lookups compare it (zeroes after the last
 * byte), and its hash. SipHash reads the last partial word of a message
 * little-endian with the length in the top byte, which for a zero-padded
 * word is the word itself plus that byte: the same function as
 * shmkit__siphash(..., 1, 3), without a byte loop.
 */
static inline uint64_t
table_key_words(const shmkit_table_t *t, const void *key, uint64_t *k)
{
	const unsigned char *p = key;
	size_t n = t->key_size / 8, tail = t->key_size % 8, i;
	uint64_t v0 = t->k0 ^ 0x736f6d6570736575ull;
	uint64_t v1 = t->k1 ^ 0x646f72616e646f6dull;
	uint64_t v2 = t->k0 ^ 0x6c7967656e657261ull;
	uint64_t v3 = t->k1 ^ 0x7465646279746573ull;
	uint64_t m, b = (uint64_t)t->key_size << 56;

	for (i = 0; i < n; i++) {
		memcpy(&m, p + 8 * i, 8);
		k[i] = m;
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		m = __builtin_bswap64(m);
#endif
		v3 ^= m;
		SIP_ROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	if (tail > 0) {
		m = 0;
		memcpy(&m, p + 8 * n, tail);
		k[n] = m;
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		m = __builtin_bswap64(m);
#endif
		b |= m;
	}
	v3 ^= b;
	SIP_ROUND(v0, v1, v2, v3);
	v0 ^= b;
	v2 ^= 0xff;
	SIP_ROUND(v0, v1, v2, v3);
	SIP_ROUND(v0, v1, v2, v3);
	SIP_ROUND(v0, v1, v2, v3);
	return (v0 ^ v1 ^ v2 ^ v3) & t->hash_mask;
}

/* The key padded into words, as table_key_words() gives it, unhashed
 * (for get_many, which hashes a key long before it compares it). Not
 * folded into table_key_words(): a separate pass there costs every lookup
 * about 5% more instructions. table_test's get_many_matches_get fails if
 * the two ever pad differently. */
static inline void
table_pad_key(const shmkit_table_t *t, const void *key, uint64_t *k)
{
	size_t n = t->key_size / 8, tail = t->key_size % 8, i;

	/* Word by word: fixed-size copies become moves; one copy of a
	 * variable length would be a call to memcpy. */
	for (i = 0; i < n; i++)
		memcpy(&k[i], (const unsigned char *)key + 8 * i, 8);
	if (tail > 0) {
		k[n] = 0;
		memcpy(&k[n], (const unsigned char *)key + 8 * n, tail);
	}
}

#endif /* SHMKIT_TABLE_HASH_H */
