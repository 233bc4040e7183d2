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

int
line_reader_next(struct line_reader *r, const char **line, size_t *len,
		 int *more)
{
	for (;;) {
		/* Nothing read yet: no buffer to point into. */
		char *p = r->buf ? r->buf + r->start : NULL;
		char *end = r->buf ? r->buf + r->end : NULL;
		/* Search only what the last search did not see: a long line
		 * arriving in many reads costs linear time, not quadratic. */
		size_t from = r->scan > r->start ? r->scan : r->start;
		char *d = r->end > from ? memchr(r->buf + from, r->delim,
						 r->end - from)
					: NULL;
		ssize_t n;
		int rc;

		r->scan = r->end;

		if (d != NULL || (r->eof && r->end > r->start)) {
			size_t l =
				d != NULL ? (size_t)(d - p) : (size_t)(end - p);
			char *next = d != NULL ? d + 1 : end;

			*line = p;
			*len = l;
			/* More already here: a whole line, or the last,
			 * unterminated one of the input. */
			*more = next < end &&
				(r->eof ||
				 memchr(next, r->delim, (size_t)(end - next)) !=
					 NULL);
			r->start = (size_t)(next - r->buf);
			r->scan = r->start;
			return l > r->max ? -EMSGSIZE : 1;
		}
		if (r->eof)
			return 0;
		if (r->end - r->start > r->max) {
			/* No end in sight: too long whatever follows. */
			*line = p;
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
