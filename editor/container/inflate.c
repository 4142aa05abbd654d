/* inflate.c — see inflate.h. */
#include "editor/container/inflate.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <isa-l/igzip_lib.h>

#define IN_BUF (1u << 20)
#define OUT_BUF (1u << 20)
#define OBS_CHUNK 64u        /* input per ISA-L call while looking for a point */

struct gm_inflate {
	int fd;
	struct inflate_state st;
	struct isal_gzip_header gzh;
	unsigned char *in, *out;
	size_t in_cap;
	int err_rc;            /* the first error, returned from then on */
	unsigned char *cur;    /* the buffer being filled (out, or the caller's) */
	uint32_t cap;          /* its size */
	const unsigned char *head;
	size_t head_len;
	uint64_t in_bytes, out_bytes;
	unsigned members;
	bool in_eof, member_end, done;
	/* access points */
	gm_inflate_point_fn pt_fn;
	void *pt_priv;
	uint64_t spacing, next_pt, last_cbit, last_uoff;
	bool any_pt;
	unsigned char *hist;   /* the member's last hist_len bytes before this buffer */
	size_t hist_len;
	size_t mstart;         /* where the member's output starts in out */
	unsigned char *win;
	char msg[128];
};

static void member_init(struct gm_inflate *z)
{
	isal_gzip_header_init(&z->gzh);
	z->st.crc_flag = ISAL_GZIP;
}

int gm_inflate_new(int fd, const void *head, size_t head_len, struct gm_inflate **out)
{
	struct gm_inflate *z = calloc(1, sizeof(*z));
	struct stat st;

	if (!z)
		return -ENOMEM;
	/* a small file needs no big buffer (the out buffer: gm_inflate_read's) */
	z->in_cap = IN_BUF;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size < IN_BUF)
		z->in_cap = st.st_size < 4096 ? 4096 : (size_t)st.st_size + 1;
	z->in = malloc(z->in_cap);
	if (!z->in) {
		gm_inflate_free(z);
		return -ENOMEM;
	}
	z->fd = fd;
	z->head = head;
	z->head_len = head ? head_len : 0;
	isal_inflate_init(&z->st);
	member_init(z);
	*out = z;
	return 0;
}

int gm_inflate_set_points(struct gm_inflate *z, uint64_t spacing, gm_inflate_point_fn fn,
			  void *priv)
{
	if (!z->hist) {
		z->hist = malloc(GM_INFLATE_WINDOW);
		z->win = malloc(GM_INFLATE_WINDOW);
		if (!z->hist || !z->win)
			return -ENOMEM;
	}
	z->pt_fn = fn;
	z->pt_priv = priv;
	gm_inflate_set_spacing(z, spacing);
	return 0;
}

void gm_inflate_set_spacing(struct gm_inflate *z, uint64_t spacing)
{
	z->spacing = spacing;
	z->next_pt = spacing ? z->last_uoff + spacing : UINT64_MAX;
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
		n = read(z->fd, z->in, z->in_cap);
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

/* Reports a point at the reader's position (uoff: output handed out or in
 * out[0, produced)); the window is the member's data before it. */
static int report(struct gm_inflate *z, uint64_t cbit, size_t produced, uint32_t crc)
{
	struct gm_inflate_point pt = {
		.cbit = cbit, .uoff = z->out_bytes + produced, .crc = crc, .member = z->members,
		.window = z->win,
	};
	size_t here = produced - z->mstart;
	size_t from_hist = here >= GM_INFLATE_WINDOW ? 0 :
			   GM_INFLATE_WINDOW - here < z->hist_len ? GM_INFLATE_WINDOW - here : z->hist_len;
	size_t from_out = here < GM_INFLATE_WINDOW ? here : GM_INFLATE_WINDOW;
	int rc;

	memcpy(z->win, z->hist + z->hist_len - from_hist, from_hist);
	memcpy(z->win + from_hist, z->cur + produced - from_out, from_out);
	pt.window_len = from_hist + from_out;
	rc = z->pt_fn(z->pt_priv, &pt);
	if (rc) {
		snprintf(z->msg, sizeof(z->msg), "recording an access point: %s", strerror(-rc));
		return rc;
	}
	z->last_cbit = cbit;
	z->last_uoff = pt.uoff;
	z->any_pt = true;
	gm_inflate_set_spacing(z, z->spacing);
	return 0;
}

/* After an ISA-L call: when it stopped between two blocks with everything
 * it decoded handed out, that boundary is a point. */
static int try_point(struct gm_inflate *z, size_t produced)
{
	const struct inflate_state *s = &z->st;
	uint64_t pos = z->in_bytes - s->avail_in, cbit;

	if (!s->wrapper_flag || (s->block_state != ISAL_BLOCK_NEW_HDR &&
				 s->block_state != ISAL_BLOCK_HDR) ||
	    s->tmp_out_valid != s->tmp_out_processed || s->write_overflow_len ||
	    s->copy_overflow_length)
		return 0;
	/* the unread bits: read_in, then (HDR) the header bytes kept aside */
	cbit = pos * 8 - (uint64_t)s->read_in_length;
	if (s->block_state == ISAL_BLOCK_HDR)
		cbit -= (uint64_t)s->tmp_in_size * 8;
	if (z->any_pt && cbit <= z->last_cbit)
		return 0;
	return report(z, cbit, produced, s->crc);
}

/* Keeps the member's last 32 KiB before the next buffer. */
static void keep_history(struct gm_inflate *z, size_t produced)
{
	size_t n = produced - z->mstart, keep;

	if (!z->hist) {
		z->mstart = 0;
		return;
	}
	if (n >= GM_INFLATE_WINDOW) {
		memcpy(z->hist, z->cur + produced - GM_INFLATE_WINDOW, GM_INFLATE_WINDOW);
		z->hist_len = GM_INFLATE_WINDOW;
	} else {
		keep = GM_INFLATE_WINDOW - n < z->hist_len ? GM_INFLATE_WINDOW - n : z->hist_len;
		memmove(z->hist, z->hist + z->hist_len - keep, keep);
		memcpy(z->hist + keep, z->cur + z->mstart, n);
		z->hist_len = keep + n;
	}
	z->mstart = 0;
}

/* The gzip header of a member, parsed apart so that the start of its
 * deflate data is known. 1: done, 0: more input needed, or -errno. */
static int read_header(struct gm_inflate *z, size_t produced)
{
	int r = isal_read_gzip_header(&z->st, &z->gzh);

	if (r < 0)
		return isal_error(z, r);
	if (r != ISAL_DECOMP_OK || !z->st.wrapper_flag) {
		if (z->in_eof && z->st.avail_in == 0)
			return fail(z, -EINVAL, z->members ? "trailing garbage after the gzip data" :
				    "unexpected end of file");
		return 0;
	}
	if (z->pt_fn) {
		uint64_t cbit = (z->in_bytes - z->st.avail_in) * 8 - (uint64_t)z->st.read_in_length;

		if ((r = report(z, cbit, produced, 0)))
			return r;
	}
	return 1;
}

ssize_t gm_inflate_read(struct gm_inflate *z, const unsigned char **buf)
{
	if (!z->out && !(z->out = malloc(OUT_BUF)))
		return fail(z, -ENOMEM, "out of memory");
	*buf = z->out;
	return gm_inflate_read_into(z, z->out, OUT_BUF);
}

ssize_t gm_inflate_read_into(struct gm_inflate *z, unsigned char *out, size_t cap)
{
	size_t produced;
	int rc;

	if (z->err_rc)
		return z->err_rc;       /* an error stays */
	if (cap > UINT32_MAX)
		cap = UINT32_MAX;
	z->cur = out;
	z->cap = (uint32_t)cap;
	z->st.next_out = out;
	z->st.avail_out = z->cap;
	while (z->st.avail_out && !z->done) {
		uint32_t before_out, before_in, held = 0, capped = 0;
		bool look;
		int r;

		produced = z->cap - z->st.avail_out;
		if (z->st.avail_in == 0 && !z->in_eof && (rc = refill(z)))
			goto failed;
		if (z->member_end) {
			if (z->st.avail_in == 0 && z->in_eof) {
				z->done = true;     /* the end of the file, after a whole member */
				break;
			}
			isal_inflate_reset(&z->st);   /* another member follows */
			member_init(z);
			z->member_end = false;
			z->hist_len = 0;
			z->mstart = produced;
			continue;
		}
		if (!z->st.wrapper_flag) {
			if ((rc = read_header(z, produced)) < 0)
				goto failed;
			continue;
		}
		look = z->pt_fn && z->out_bytes + produced >= z->next_pt;
		if (look && z->st.avail_in > OBS_CHUNK) {
			held = z->st.avail_in - OBS_CHUNK;
			z->st.avail_in = OBS_CHUNK;
		} else if (!look && z->pt_fn && z->next_pt - (z->out_bytes + produced) < z->st.avail_out) {
			/* stop where the next point is wanted */
			capped = z->st.avail_out - (uint32_t)(z->next_pt - (z->out_bytes + produced));
			z->st.avail_out -= capped;
		}
		before_in = z->st.avail_in;
		before_out = z->st.avail_out;
		r = isal_inflate(&z->st);
		z->st.avail_in += held;
		z->st.avail_out += capped;
		if (r < 0) {
			rc = isal_error(z, r);
			goto failed;
		}
		if (z->st.block_state == ISAL_BLOCK_FINISH) {
			z->members++;
			z->member_end = true;
			continue;
		}
		if (look && (rc = try_point(z, z->cap - z->st.avail_out)))
			goto failed;
		if (z->in_eof && z->st.avail_in == 0 && z->st.avail_out == before_out + capped &&
		    before_in == 0) {
			rc = fail(z, -EINVAL, "unexpected end of file");
			goto failed;
		}
	}
	produced = z->cap - z->st.avail_out;
	keep_history(z, produced);
	z->out_bytes += produced;
	return (ssize_t)produced;
failed:
	/* what this call inflated before the error is delivered first (as
	 * gzip -d writes it): a reader sees every byte up to the damage, and
	 * the error on its next call */
	z->err_rc = rc;
	produced = z->cap - z->st.avail_out;
	if (!produced)
		return rc;
	keep_history(z, produced);
	z->out_bytes += produced;
	return (ssize_t)produced;
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
	free(z->hist);
	free(z->win);
	free(z);
}
