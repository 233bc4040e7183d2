/*
 * Messages and names for shmkit's return values. The library's own codes
 * come from SHMKIT_ERROR_LIST in <shmkit/error.h>, the one place they are
 * defined; errno values are left to libc, whose thread-safe accessors
 * (strerrordesc_np, strerrorname_np) return static strings.
 */
#include <string.h>

#include "common/internal.h"

SHMKIT_API const char *
shmkit_strerror(int err)
{
	const char *msg;

	if (err >= 0)
		return "success";
	switch (err) {
#define SHMKIT__ERROR_MSG(name, value, text)                                   \
	case name:                                                             \
		return text;
		SHMKIT_ERROR_LIST(SHMKIT__ERROR_MSG)
#undef SHMKIT__ERROR_MSG
	}
	if (err < -4095)
		return "unknown error";
	msg = strerrordesc_np(-err);
	return msg ? msg : "unknown error";
}

SHMKIT_API const char *
shmkit_errname(int err)
{
	const char *name;

	if (err >= 0)
		return "OK";
	switch (err) {
#define SHMKIT__ERROR_NAME(ident, value, text)                                 \
	case ident:                                                            \
		return #ident;
		SHMKIT_ERROR_LIST(SHMKIT__ERROR_NAME)
#undef SHMKIT__ERROR_NAME
	}
	if (err < -4095)
		return "UNKNOWN";
	name = strerrorname_np(-err);
	return name ? name : "UNKNOWN";
}
