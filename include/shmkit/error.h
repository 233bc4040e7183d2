/*
 * shmkit/error.h: error codes and their messages.
 *
 * Every shmkit function that can fail returns an int: >= 0 on success,
 * a negative errno value (-ENOENT, -EACCES, ...) when the system said no,
 * or one of the library's own codes below, which live in a reserved band
 * (-4000 and down) that no errno value reaches.
 */
#ifndef SHMKIT_ERROR_H
#define SHMKIT_ERROR_H

#include <shmkit/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* X(name, value, message): the one list behind the enum, shmkit_strerror()
 * and shmkit_errname(). Append only; values are ABI. */
#define SHMKIT_ERROR_LIST(X)                                                   \
	X(SHMKIT_EVERSION, -4000, "incompatible shmkit layout version")        \
	X(SHMKIT_ECORRUPT, -4001, "shared object is corrupt")                  \
	X(SHMKIT_ESIZE, -4002, "segment is smaller than the requested size")   \
	X(SHMKIT_ENOTOBJ, -4003, "not a shmkit object")                        \
	X(SHMKIT_EABI, -4004,                                                  \
	  "object was made by a build with another memory layout")           \
	X(SHMKIT_EBROKEN, -4005, "object was marked broken by a peer")

enum shmkit_error {
#define SHMKIT__ERROR_ENUM(name, value, msg) name = (value),
	SHMKIT_ERROR_LIST(SHMKIT__ERROR_ENUM)
#undef SHMKIT__ERROR_ENUM
};

/* First and last value of the reserved band. */
#define SHMKIT_ERROR_BAND_FIRST (-4000)
#define SHMKIT_ERROR_BAND_LAST (-4999)

/*
 * shmkit_strerror - a message for a shmkit return value.
 *
 * err may be a negative errno, a shmkit code, or >= 0 ("success"). The
 * string is static and never freed; the function is thread-safe (unlike
 * strerror(3) it never writes into a shared buffer). An unknown value
 * gives "unknown error".
 */
SHMKIT_API const char *shmkit_strerror(int err);

/*
 * shmkit_errname - the symbolic name of a return value: "ENOENT",
 * "SHMKIT_ECORRUPT", "OK" for >= 0, "UNKNOWN" otherwise. Static string.
 */
SHMKIT_API const char *shmkit_errname(int err);

#ifdef __cplusplus
}
#endif

#endif /* SHMKIT_ERROR_H */
