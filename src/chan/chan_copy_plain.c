/*
 * Copying a message into a slot (shmkit_chan_send()) where the compiler
 * offers no streaming stores (the CMake probe SHMKIT_HAVE_SSE2_STREAM):
 * memcpy, whatever the size. chan_copy_sse2.c says what streaming gains.
 */
#include <string.h>

#include "chan/chan_impl.h"

void
shmkit__chan_copy_in(void *dst, const void *src, size_t len)
{
	memcpy(dst, src, len);
}

void
shmkit__chan_copy_stream(void *dst, const void *src, size_t len)
{
	memcpy(dst, src, len);
}
