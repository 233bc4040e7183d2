/*
 * Copying a large message into a slot (shmkit_chan_send()).
 *
 * A message bigger than the producer's L2 cache, copied with ordinary
 * stores, pushes its own first lines out to the shared or remote cache
 * levels before the consumer on another core has read them; the consumer
 * then pulls every line from wherever it went, and on the machines we
 * measured that is the slowest way a line can travel. Streaming
 * (non-temporal) stores send the message to memory at once, past the
 * producer's caches, and the consumer reads it from there with the
 * hardware prefetcher running ahead. chan_bench (d), 1 MiB messages, same
 * run: 7.3-8.1 GB/s with memcpy, 22-23 GB/s streaming; at 256 and 512 KiB
 * the two were equal, so messages under half the L2 cache keep memcpy,
 * which also leaves them in cache for a consumer on the same core.
 *
 * x86-64 only (SSE2, which every x86-64 CPU has); elsewhere memcpy.
 */
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "chan/chan_impl.h"

#if defined(__x86_64__)
#include <emmintrin.h>

/* Bytes from which streaming pays: half the L2 cache, as glibc reports
 * it (sysconf(_SC_LEVEL2_CACHE_SIZE)); 512 KiB when it cannot tell. */
static size_t
stream_min(void)
{
	/* Relaxed: every thread computes the same value; the atomics only
	 * keep concurrent first calls from being a data race. */
	static size_t cached;
	size_t v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
	long l2;

	if (v != 0)
		return v;
	l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
	v = l2 > 0 ? (size_t)l2 / 2 : 512u << 10;
	__atomic_store_n(&cached, v, __ATOMIC_RELAXED);
	return v;
}

static void
copy_streaming(unsigned char *d, const unsigned char *s, size_t n)
{
	/* memcpy up to a 16-byte boundary of the destination, stream whole
	 * 64-byte lines, memcpy the tail. */
	size_t head = (size_t)(-(uintptr_t)d & 15u);

	memcpy(d, s, head);
	d += head;
	s += head;
	n -= head;
	for (; n >= 64; n -= 64, d += 64, s += 64) {
		__m128i a = _mm_loadu_si128((const __m128i *)(const void *)s);
		__m128i b = _mm_loadu_si128(
			(const __m128i *)(const void *)(s + 16));
		__m128i c = _mm_loadu_si128(
			(const __m128i *)(const void *)(s + 32));
		__m128i e = _mm_loadu_si128(
			(const __m128i *)(const void *)(s + 48));

		_mm_stream_si128((__m128i *)(void *)d, a);
		_mm_stream_si128((__m128i *)(void *)(d + 16), b);
		_mm_stream_si128((__m128i *)(void *)(d + 32), c);
		_mm_stream_si128((__m128i *)(void *)(d + 48), e);
	}
	/* Streaming stores are weakly ordered: without this fence the
	 * commit's release store of the slot sequence could become visible
	 * before the message. The fence orders them before every later
	 * store, so the consumer's acquire load of the sequence (which pairs
	 * with that release store) sees the whole message. */
	_mm_sfence();
	memcpy(d, s, n);
}

void
shmkit__chan_copy_in(void *dst, const void *src, size_t len)
{
	if (len >= stream_min() && len >= 64)
		copy_streaming(dst, src, len);
	else
		memcpy(dst, src, len);
}

#else

void
shmkit__chan_copy_in(void *dst, const void *src, size_t len)
{
	memcpy(dst, src, len);
}

#endif
