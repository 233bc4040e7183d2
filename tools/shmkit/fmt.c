/*
 * Value formatting shared by the listing commands (see fmt.h).
 */
#include "fmt.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

const char *
fmt_perms(mode_t mode, char *buf)
{
	static const char rwx[] = "rwxrwxrwx";
	int i;

	for (i = 0; i < 9; i++)
		buf[i] = (mode & (0400u >> i)) ? rwx[i] : '-';
	buf[9] = '\0';
	return buf;
}

const char *
fmt_size(unsigned long long size, int bytes, char *buf, size_t len)
{
	static const char units[] = "KMGTPE";
	double v = (double)size;
	int u = -1;

	if (bytes || size < 1024) {
		snprintf(buf, len, "%llu%s", size, bytes ? "" : "B");
		return buf;
	}
	while (v >= 1024.0 && u < 5) {
		v /= 1024.0;
		u++;
	}
	/* One decimal unless it is a whole number, as util-linux does. */
	if (v - (double)(unsigned long long)v < 0.05)
		snprintf(buf, len, "%llu%c", (unsigned long long)v, units[u]);
	else
		snprintf(buf, len, "%.1f%c", v, units[u]);
	return buf;
}

const char *
fmt_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (t == 0 || localtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%S%z", &tm) == 0)
		snprintf(buf, len, "-");
	return buf;
}

const char *
fmt_user(uid_t uid, char *buf, size_t len)
{
	struct passwd pw, *res = NULL;
	char tmp[1024];

	if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) == 0 && res != NULL)
		snprintf(buf, len, "%s", res->pw_name);
	else
		snprintf(buf, len, "%u", (unsigned)uid);
	return buf;
}

const char *
fmt_group(gid_t gid, char *buf, size_t len)
{
	struct group gr, *res = NULL;
	char tmp[1024];

	if (getgrgid_r(gid, &gr, tmp, sizeof(tmp), &res) == 0 && res != NULL)
		snprintf(buf, len, "%s", res->gr_name);
	else
		snprintf(buf, len, "%u", (unsigned)gid);
	return buf;
}

const char *
fmt_escape(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	for (; *s != '\0' && o + 5 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f || c == '\\')
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	buf[o] = '\0';
	return buf;
}

void
fmt_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

int
fmt_parse_size(const char *text, unsigned long long *out)
{
	unsigned long long v = 0, mult = 1;
	const char *p = text;
	int base = 10, digits = 0;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	for (;; p++) {
		unsigned d;

		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = (unsigned)(*p - 'a' + 10);
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = (unsigned)(*p - 'A' + 10);
		else
			break;
		if (v > (~0ull - d) / (unsigned)base)
			return -ERANGE;
		v = v * (unsigned)base + d;
		digits++;
	}
	if (digits == 0)
		return -EINVAL;
	if (base == 10 && *p != '\0') {
		const char *units = "KMGT";
		const char *u = strchr(units, *p == 'k' ? 'K' : *p);
		int i, si = p[1] == 'B' && p[2] == '\0';

		if (u == NULL || *p == '\0' || !(p[1] == '\0' || si))
			return -EINVAL;
		for (i = 0; i <= u - units; i++)
			mult *= si ? 1000 : 1024;
		p += si ? 2 : 1;
	}
	if (*p != '\0')
		return -EINVAL;
	if (v > ~0ull / mult)
		return -ERANGE;
	*out = v * mult;
	return 0;
}
