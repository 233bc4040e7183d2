/*
 * chan_lines.c: the lines of standard input for "shmkit chan send", read
 * with read(2) into a buffer of our own rather than getdelim(3), so that
 * the sender knows which lines are already here: each of those but the
 * last goes with SHMKIT_CHAN_MORE and the last publishes the batch, and
 * no line is ever held back while the next read may block.
 */
#include "chan_cmd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FIRST_CAP (64u << 10)

void
line_reader_init(struct line_reader *r, int fd, int delim, size_t max)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->delim = delim;
	r->max = max;
}

void
line_reader_free(struct line_reader *r)
{
	free(r->buf);
	r->buf = NULL;
}

/* Make room to read into: drop what was handed out, then grow if a line
 * fills the buffer. 0 or -ENOMEM. */
static int
make_room(struct line_reader *r)
{
	char *nb;
	size_t cap;

	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->scan -= r->start;
		r->start = 0;
	}
	if (r->end < r->cap)
		return 0;
	cap = r->cap ? r->cap * 2 : FIRST_CAP;
	nb = realloc(r->buf, cap);
	if (nb == NULL)
		return -ENOMEM;
	r->buf = nb;
	r->cap = cap;
	return 0;
}

/* Index of the first delimiter in [from, end), or end if none. */
static size_t
find(const struct line_reader *r, size_t from)
{
	const char *d = from < r->end
				? memchr(r->buf + from, r->delim, r->end - from)
				: NULL;

	return d != NULL ? (size_t)(d - r->buf) : r->end;
}

int
line_reader_next(struct line_reader *r, const char **line, size_t *len,
		 int *more)
{
	for (;;) {
		/* Search only what the last search did not see: a long line
		 * arriving in many reads costs linear time, not quadratic.
		 * [start, scan) holds no delimiter. */
		size_t d = find(r, r->scan > r->start ? r->scan : r->start);
		ssize_t n;
		int rc;

		r->scan = d;
		if (d < r->end || (r->eof && r->end > r->start)) {
			/* A whole line, or the last, unterminated one. */
			size_t next = d < r->end ? d + 1 : r->end;

			*line = r->buf + r->start;
			*len = d - r->start;
			/* More already here: another whole line, or the
			 * unterminated last one. */
			*more = next < r->end &&
				(r->eof || find(r, next) < r->end);
			r->start = r->scan = next;
			return *len > r->max ? -EMSGSIZE : 1;
		}
		if (r->eof)
			return 0;
		if (r->end - r->start > r->max) {
			/* No end in sight: too long whatever follows. */
			*line = r->buf + r->start;
			*len = r->end - r->start;
			return -EMSGSIZE;
		}
		rc = make_room(r);
		if (rc < 0)
			return rc;
		n = read(r->fd, r->buf + r->end, r->cap - r->end);
		if (n < 0)
			return -errno;
		if (n == 0)
			r->eof = 1;
		r->end += (size_t)n;
	}
}
