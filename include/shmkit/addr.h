/*
 * shmkit/addr.h: the one spelling of a segment's name.
 *
 *   sysv:0x44, sysv:68    System V segment by key (hex with 0x, or decimal)
 *   sysv-id:12            System V segment by shmid (existing segments only)
 *   ftok:PATH:PROJ        System V key from ftok(PATH, PROJ); PROJ is 1-255
 *                         (decimal or 0x hex) or a single character
 *   posix:/name, /name    POSIX shared memory object
 *   file:PATH             regular file mapped MAP_SHARED
 *   memfd:NAME            anonymous memfd (shared by fork or fd passing)
 *
 * The same text is accepted by the library, the shmkit command and
 * configuration files, and printed in error messages.
 */
#ifndef SHMKIT_ADDR_H
#define SHMKIT_ADDR_H

#include <stddef.h>
#include <sys/types.h>

#include <shmkit/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Which kernel interface holds a segment. Values are ABI; 0 is invalid. */
typedef enum shmkit_backend {
	SHMKIT_BACKEND_SYSV = 1,
	SHMKIT_BACKEND_POSIX = 2,
	SHMKIT_BACKEND_FILE = 3,
	SHMKIT_BACKEND_MEMFD = 4,
} shmkit_backend_t;

/* How an address names its segment (the spelling it was parsed from). */
typedef enum shmkit_addr_kind {
	SHMKIT_ADDR_SYSV_KEY = 1, /* sysv:KEY */
	SHMKIT_ADDR_SYSV_ID = 2,  /* sysv-id:ID */
	SHMKIT_ADDR_FTOK = 3,     /* ftok:PATH:PROJ */
	SHMKIT_ADDR_POSIX = 4,    /* posix:/name or /name */
	SHMKIT_ADDR_FILE = 5,     /* file:PATH */
	SHMKIT_ADDR_MEMFD = 6,    /* memfd:NAME */
} shmkit_addr_kind_t;

/* Longest memfd name: the kernel limit is 249 bytes (NAME_MAX - "memfd:"). */
#define SHMKIT_MEMFD_NAME_MAX 249

/* Linux's PATH_MAX, spelled out so this header compiles in strict ISO C
 * modes where <limits.h> does not define it (the library checks they
 * agree). Paths hold at most SHMKIT_PATH_MAX - 1 bytes. */
#define SHMKIT_PATH_MAX 4096

/* Room for any formatted address including its NUL: "ftok:" PATH ":255". */
#define SHMKIT_ADDR_STRLEN (SHMKIT_PATH_MAX + 16)

/*
 * A System V IPC key. The same type as key_t on Linux (int); shmkit uses
 * its own name because <sys/types.h> hides key_t in strict ISO C modes.
 */
typedef int shmkit_key_t;

/*
 * A parsed address. Plain data: copy it freely, no pointers inside.
 *   key    SYSV_KEY: the key (never IPC_PRIVATE). FTOK: not yet computed
 *          (0); shmkit_addr_key() computes it, since ftok needs the file.
 *   id     SYSV_ID: the shmid (>= 0).
 *   proj   FTOK: 1-255.
 *   path   FTOK, FILE: the path. POSIX: the name with its leading '/'.
 *          MEMFD: the name. Empty for SYSV_KEY and SYSV_ID.
 */
typedef struct shmkit_addr {
	shmkit_addr_kind_t kind;
	shmkit_key_t key;
	int id;
	int proj;
	char path[SHMKIT_PATH_MAX];
} shmkit_addr_t;

/*
 * shmkit_addr_parse - parse TEXT into *out.
 *
 * Returns 0 and fills *out; on failure *out is untouched and the result is
 * -EINVAL (NULL argument, empty or unknown prefix, bad number, key 0 which
 * is IPC_PRIVATE, id < 0, PROJ outside 1-255, a POSIX name that is empty,
 * ".", "..", or has a second '/', an empty path or name, control bytes
 * anywhere) or -ENAMETOOLONG (POSIX name over NAME_MAX, path over
 * SHMKIT_PATH_MAX - 1, memfd name over SHMKIT_MEMFD_NAME_MAX). Pure function:
 * touches no file, thread-safe.
 */
SHMKIT_API int shmkit_addr_parse(shmkit_addr_t *out, const char *text);

/*
 * shmkit_addr_format - write the canonical text of *a into buf.
 *
 * Canonical forms: "sysv:0x%08x", "sysv-id:%d", "ftok:PATH:PROJ" (decimal
 * PROJ), "posix:/name", "file:PATH", "memfd:NAME". Parsing the result gives
 * back an equal address. Returns the length written (without the NUL);
 * -EINVAL for NULL or an invalid address; -ENAMETOOLONG when buf (of len
 * bytes) is too small, in which case buf holds "" if len > 0.
 */
SHMKIT_API int shmkit_addr_format(const shmkit_addr_t *a, char *buf,
				  size_t len);

/* The backend an address kind belongs to (SYSV for the three System V
 * spellings). Returns 0 for an invalid kind. */
SHMKIT_API shmkit_backend_t shmkit_addr_backend(const shmkit_addr_t *a);

/*
 * shmkit_addr_key - the System V key of a SYSV_KEY or FTOK address.
 *
 * Calls ftok(3) for FTOK, so the path must exist: -ENOENT, -EACCES... as
 * stat(2) says. An ftok result of IPC_PRIVATE (possible in theory) gives
 * -EINVAL. Other kinds give -EINVAL. Returns 0 and writes *key.
 */
SHMKIT_API int shmkit_addr_key(const shmkit_addr_t *a, shmkit_key_t *key);

/* Name of a backend: "sysv", "posix", "file", "memfd"; "?" if invalid. */
SHMKIT_API const char *shmkit_backend_name(shmkit_backend_t b);

#ifdef __cplusplus
}
#endif

#endif /* SHMKIT_ADDR_H */
