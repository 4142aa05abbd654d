/* inflate.c — see inflate.h. */
#include "editor/container/inflate.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <isa-l/igzip_lib.h>

#define IN_BUF (1u << 20)
#define OUT_BUF (1u << 20)

struct gm_inflate {
	int fd;
	struct inflate_state st;
	unsigned char *in, *out;
	const unsigned char *head;
	size_t head_len;
	uint64_t in_bytes, out_bytes;
	unsigned members;
	bool in_eof, member_end, done;
	char msg[128];
};

int gm_inflate_new(int fd, const void *head, size_t head_len, struct gm_inflate **out)
{
	struct gm_inflate *z = calloc(1, sizeof(*z));

	if (!z)
		return -ENOMEM;
	z->in = malloc(IN_BUF);
	z->out = malloc(OUT_BUF);
	if (!z->in || !z->out) {
		gm_inflate_free(z);
		return -ENOMEM;
	}
	z->fd = fd;
	z->head = head;
	z->head_len = head ? head_len : 0;
	isal_inflate_init(&z->st);
	z->st.crc_flag = ISAL_GZIP;
	*out = z;
	return 0;
}

static int fail(struct gm_inflate *z, int rc, const char *what)
{
	snprintf(z->msg, sizeof(z->msg), "%s", what);
	return rc;
}

static int refill(struct gm_inflate *z)
{
	ssize_t n;

	if (z->head_len) {          /* what the caller read from the stream first */
		z->st.next_in = (uint8_t *)z->head;
		z->st.avail_in = (uint32_t)z->head_len;
		z->in_bytes += z->head_len;
		z->head_len = 0;
		return 0;
	}
	do
		n = read(z->fd, z->in, IN_BUF);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		snprintf(z->msg, sizeof(z->msg), "read: %s", strerror(errno));
		return -EIO;
	}
	z->in_eof = n == 0;
	z->st.next_in = z->in;
	z->st.avail_in = (uint32_t)n;
	z->in_bytes += (uint64_t)n;
	return 0;
}

static int isal_error(struct gm_inflate *z, int r)
{
	switch (r) {
	case ISAL_INCORRECT_CHECKSUM:
		return fail(z, -EINVAL, "CRC32 mismatch: the data is damaged");
	case ISAL_INVALID_WRAPPER:
		return fail(z, -EINVAL, z->members ? "trailing garbage after the gzip data"
						   : "not in gzip format");
	case ISAL_UNSUPPORTED_METHOD:
		return fail(z, -EINVAL, "unknown compression method");
	case ISAL_INVALID_LOOKBACK:
		return fail(z, -EINVAL, "invalid distance too far back");
	default:
		return fail(z, -EINVAL, "corrupt data");
	}
}

ssize_t gm_inflate_read(struct gm_inflate *z, const unsigned char **buf)
{
	int rc;

	z->st.next_out = z->out;
	z->st.avail_out = OUT_BUF;
	while (z->st.avail_out && !z->done) {
		uint32_t before_out = z->st.avail_out, before_in = z->st.avail_in;
		int r;

		if (z->st.avail_in == 0 && !z->in_eof && (rc = refill(z)))
			return rc;
		if (z->member_end) {
			if (z->st.avail_in == 0 && z->in_eof) {
				z->done = true;     /* the end of the file, after a whole member */
				break;
			}
			isal_inflate_reset(&z->st);   /* another member follows */
			z->st.crc_flag = ISAL_GZIP;
			z->member_end = false;
			continue;
		}
		before_in = z->st.avail_in;
		r = isal_inflate(&z->st);
		if (r < 0)
			return isal_error(z, r);
		if (z->st.block_state == ISAL_BLOCK_FINISH) {
			z->members++;
			z->member_end = true;
			continue;
		}
		if (z->in_eof && z->st.avail_in == 0 && z->st.avail_out == before_out &&
		    before_in == 0)
			return fail(z, -EINVAL, z->members && z->st.total_out == 0 &&
				    z->st.block_state >= ISAL_GZIP_EXTRA_LEN ?
				    "trailing garbage after the gzip data" : "unexpected end of file");
	}
	*buf = z->out;
	z->out_bytes += OUT_BUF - z->st.avail_out;
	return (ssize_t)(OUT_BUF - z->st.avail_out);
}

uint64_t gm_inflate_in_bytes(const struct gm_inflate *z) { return z->in_bytes; }
uint64_t gm_inflate_out_bytes(const struct gm_inflate *z) { return z->out_bytes; }
unsigned gm_inflate_members(const struct gm_inflate *z) { return z->members; }
const char *gm_inflate_errmsg(const struct gm_inflate *z) { return z->msg[0] ? z->msg : "corrupt data"; }

void gm_inflate_free(struct gm_inflate *z)
{
	if (!z)
		return;
	free(z->in);
	free(z->out);
	free(z);
}
