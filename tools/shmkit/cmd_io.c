/*
 * shmkit cat and shmkit write: the bytes of a segment to stdout, and stdin
 * into a segment. Both check the range against the segment's size before
 * touching anything; write refuses input that would not fit, rather than
 * write part of it. Segments with an fd are read and written with
 * pread/pwrite, not through a mapping, so a peer that truncates the object
 * meanwhile gives an error instead of SIGBUS.
 */
#include "cli.h"
#include "fmt.h"
#include "objects.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <shmkit/shmkit.h>

struct io_opts {
	unsigned long long offset, length;
	int have_length, hex;
};

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* hexdump -C layout: offset, 16 bytes in two groups, printable text. */
static void
hex_line(unsigned long long off, const unsigned char *p, size_t n)
{
	size_t i;

	printf("%08llx ", off);
	for (i = 0; i < 16; i++) {
		if (i == 8)
			putchar(' ');
		if (i < n)
			printf(" %02x", p[i]);
		else
			printf("   ");
	}
	printf("  |");
	for (i = 0; i < n; i++)
		putchar(p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '.');
	printf("|\n");
}

/* Reads n bytes at off from the segment: pread on the fd, else the
 * System V mapping. */
static int
seg_read(shmkit_seg_t *seg, const void *map, void *buf, size_t n,
	 unsigned long long off)
{
	int fd = shmkit_seg_fd(seg);
	size_t done = 0;

	if (fd < 0) {
		memcpy(buf, (const char *)map + off, n);
		return 0;
	}
	while (done < n) {
		ssize_t r = pread(fd, (char *)buf + done, n - done,
				  (off_t)(off + done));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ENODATA; /* truncated by someone meanwhile */
		done += (size_t)r;
	}
	return 0;
}

static int
parse_io_opts(const char *cmd, int argc, char **argv, struct io_opts *o,
	      int allow_length, void (*usage)(void))
{
	static const struct option longopts[] = {
		{ "offset", required_argument, NULL, 'o' },
		{ "length", required_argument, NULL, 'l' },
		{ "hex", no_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *optstr = allow_length ? ":o:l:xh" : ":o:h";
	int c;

	while ((c = getopt_long(argc, argv, optstr, longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (fmt_parse_size(optarg, &o->offset) < 0)
				return cli_usage_error(cmd, "invalid offset: '%s'",
						       optarg);
			break;
		case 'l':
			if (!allow_length)
				return cli_getopt_error(cmd, '?', argv);
			if (fmt_parse_size(optarg, &o->length) < 0)
				return cli_usage_error(cmd, "invalid length: '%s'",
						       optarg);
			o->have_length = 1;
			break;
		case 'x':
			if (!allow_length)
				return cli_getopt_error(cmd, '?', argv);
			o->hex = 1;
			break;
		case 'h':
			usage();
			return -1;
		default:
			return cli_getopt_error(cmd, c, argv);
		}
	}
	if (optind != argc - 1)
		return cli_usage_error(cmd, optind < argc ? "one ADDRESS, please" :
							    "missing ADDRESS");
	return 0;
}

static void
cat_usage(void)
{
	printf("Usage: shmkit cat ADDRESS [--offset N] [--length N] [--hex]\n\n"
	       "Write the bytes of a segment to standard output.\n\n"
	       "Options:\n"
	       "  -o, --offset N   start at byte N (default 0)\n"
	       "  -l, --length N   this many bytes (default: to the end)\n"
	       "  -x, --hex        a hex dump (as hexdump -C) instead\n"
	       "  -h, --help       this help\n\n"
	       "Examples:\n"
	       "  shmkit cat sysv:0x44 --length 64 --hex\n"
	       "  shmkit cat /frames > frames.bin\n");
}

int
cmd_cat(int argc, char **argv)
{
	const shmkit_seg_opts_t ro = { .flags = SHMKIT_SEG_RDONLY };
	struct io_opts o = { 0 };
	unsigned long long size, pos;
	unsigned char buf[65536];
	const char *addr;
	shmkit_seg_t *seg;
	void *map = NULL;
	int rc, out_failed = 0;

	rc = parse_io_opts("cat", argc, argv, &o, 1, cat_usage);
	if (rc != 0)
		return rc < 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	addr = argv[optind];
	rc = shmkit_seg_open(&seg, addr, &ro);
	if (rc < 0) {
		cli_addr_error("cat", addr, rc);
		return CLI_EXIT_FAIL;
	}
	size = shmkit_seg_size(seg);
	if (o.offset > size || (o.have_length && o.length > size - o.offset)) {
		cli_errorf("cat", "%s: range %llu+%llu is past the end of the "
				  "segment (%llu bytes)",
			   addr, o.offset, o.have_length ? o.length : 0, size);
		shmkit_seg_close(seg);
		return CLI_EXIT_FAIL;
	}
	if (!o.have_length)
		o.length = size - o.offset;
	/* System V has no fd to pread: read through a read-only mapping. */
	if (shmkit_seg_fd(seg) < 0)
		rc = shmkit_seg_attach(seg, &map, SHMKIT_ATTACH_RDONLY, NULL);
	for (pos = 0; rc == 0 && pos < o.length;) {
		size_t n = sizeof(buf);
		size_t i;

		if (n > o.length - pos)
			n = (size_t)(o.length - pos);
		rc = seg_read(seg, map, buf, n, o.offset + pos);
		if (rc < 0)
			break;
		if (o.hex) {
			for (i = 0; i < n; i += 16)
				hex_line(o.offset + pos + i, buf + i,
					 n - i < 16 ? n - i : 16);
		} else {
			fflush(stdout);
			rc = write_all(STDOUT_FILENO, (char *)buf, n);
			out_failed = rc < 0;
		}
		pos += n;
	}
	if (rc == 0 && o.hex)
		printf("%08llx\n", o.offset + o.length);
	shmkit_seg_close(seg);
	if (out_failed) {
		/* Not the segment's fault: say so ("cat /x >/dev/full"). */
		cli_errorf("cat", "cannot write to standard output: %s",
			   cli_stdout_error(rc));
		return CLI_EXIT_FAIL;
	}
	if (rc < 0) {
		cli_addr_error("cat", addr, rc);
		return CLI_EXIT_FAIL;
	}
	return CLI_EXIT_OK;
}

static void
write_usage(void)
{
	printf("Usage: shmkit write ADDRESS [--offset N] < DATA\n\n"
	       "Copy standard input into a segment at byte N (default 0).\n"
	       "Input that would run past the end of the segment is refused\n"
	       "and nothing is written.\n\n"
	       "Options:\n"
	       "  -o, --offset N   start at byte N (default 0)\n"
	       "  -h, --help       this help\n\n"
	       "Examples:\n"
	       "  printf 'hello' | shmkit write sysv:0x44\n"
	       "  shmkit write /frames --offset 4K < frame.bin\n");
}

int
cmd_write(int argc, char **argv)
{
	struct io_opts o = { 0 };
	unsigned long long size, room;
	size_t have = 0;
	const char *addr;
	shmkit_seg_t *seg;
	char *buf = NULL;
	void *map = NULL;
	int rc, fd;

	rc = parse_io_opts("write", argc, argv, &o, 0, write_usage);
	if (rc != 0)
		return rc < 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	addr = argv[optind];
	rc = shmkit_seg_open(&seg, addr, NULL);
	if (rc < 0) {
		cli_addr_error("write", addr, rc);
		return CLI_EXIT_FAIL;
	}
	size = shmkit_seg_size(seg);
	if (o.offset > size) {
		cli_errorf("write", "%s: offset %llu is past the end of the "
				    "segment (%llu bytes)",
			   addr, o.offset, size);
		shmkit_seg_close(seg);
		return CLI_EXIT_FAIL;
	}
	room = size - o.offset;
	/* Read all input first (one byte more than fits, to detect excess):
	 * a refused write must leave the segment untouched. */
	buf = malloc((size_t)room + 1);
	if (buf == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	while (have <= room) {
		ssize_t r = read(STDIN_FILENO, buf + have, room + 1 - have);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			goto out;
		}
		if (r == 0)
			break;
		have += (size_t)r;
	}
	if (have > room) {
		cli_errorf("write", "%s: input is larger than the %llu bytes "
				    "from offset %llu to the end; nothing "
				    "written",
			   addr, room, o.offset);
		free(buf);
		shmkit_seg_close(seg);
		return CLI_EXIT_FAIL;
	}
	fd = shmkit_seg_fd(seg);
	if (fd >= 0) {
		size_t done = 0;

		while (rc == 0 && done < have) {
			ssize_t w = pwrite(fd, buf + done, have - done,
					   (off_t)(o.offset + done));

			if (w < 0 && errno != EINTR)
				rc = -errno;
			else if (w > 0)
				done += (size_t)w;
		}
	} else {
		rc = shmkit_seg_attach(seg, &map, 0, NULL);
		if (rc == 0)
			memcpy((char *)map + o.offset, buf, have);
	}
out:
	free(buf);
	shmkit_seg_close(seg);
	if (rc < 0) {
		cli_addr_error("write", addr, rc);
		return CLI_EXIT_FAIL;
	}
	return CLI_EXIT_OK;
}
