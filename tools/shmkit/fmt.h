/*
 * fmt.h: how the shmkit command writes values, the same in ls and stat:
 * permissions as lsipc does ("rw-------"), sizes in powers of 1024 unless
 * exact bytes are asked for, times in ISO 8601, owners by name, and any
 * name from the system with control bytes escaped.
 */
#ifndef SHMKIT_CLI_FMT_H
#define SHMKIT_CLI_FMT_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

/* "rw-r-----" from the nine permission bits. buf >= 10 bytes. */
const char *fmt_perms(mode_t mode, char *buf);

/* "4K", "1.5M", or "4096" when bytes is set. */
const char *fmt_size(unsigned long long size, int bytes, char *buf,
		     size_t len);

/* "2026-11-22T13:10:59+0000", or "-" for 0 (never). */
const char *fmt_time(time_t t, char *buf, size_t len);

/* User name, or the number when it has none. */
const char *fmt_user(uid_t uid, char *buf, size_t len);
const char *fmt_group(gid_t gid, char *buf, size_t len);

/* Copy s into buf with bytes < 0x20, 0x7f and '\\' written as \xHH, so a
 * hostile object name cannot move the cursor or forge output lines. */
const char *fmt_escape(const char *s, char *buf, size_t len);


#include <stdio.h>

/* Write s as a JSON string literal (quoted, escaped) to f. */
void fmt_json_string(FILE *f, const char *s);

/*
 * Parse a size: decimal digits with an optional K, M, G (powers of 1024)
 * or KB/MB/GB (powers of 1000) suffix, or 0x hex. Returns 0, or -EINVAL
 * for malformed text and -ERANGE for a value that does not fit.
 */
int fmt_parse_size(const char *text, unsigned long long *out);

#endif /* SHMKIT_CLI_FMT_H */
