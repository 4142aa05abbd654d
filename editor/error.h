/* error.h — the project's one error language: 0 or -errno, plus a message.
 *
 * Library code never prints. A failing function returns a negative errno and,
 * where it has a struct gm_error to hand, records one human line in it
 * (libarchive's archive_set_error pattern). Foreign error domains — libext2fs
 * errcode_t, libarchive ARCHIVE_*, libfdisk negative numbers — are converted
 * here and only here.
 */
#ifndef GM_ERROR_H
#define GM_ERROR_H

#include <stdarg.h>
#include <stddef.h>

#define GM_ERRMSG_MAX 512

struct gm_error {
	int code;                  /* 0 or -errno of the last failure */
	char msg[GM_ERRMSG_MAX];   /* one line, no trailing newline */
};

/* Records code (a negative errno) and a printf-style message; returns code.
 * e may be NULL (then only code is returned). */
int gm_error_set(struct gm_error *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int gm_error_vset(struct gm_error *e, int code, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
void gm_error_clear(struct gm_error *e);
/* The message, or strerror(-code) when none was recorded. Never NULL. */
const char *gm_error_msg(const struct gm_error *e);

/* Appends a printf-style note to buf (len bytes), "; " between notes;
 * silently stops when full. For the handles' "note" texts. */
void gm_note_append(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* libext2fs errcode_t -> -errno (EXT2_ET_* mapped to the nearest errno). */
int gm_errno_from_ext2(long errcode);
/* libext2fs errcode_t -> its com_err text. Never NULL. */
const char *gm_ext2_strerror(long errcode);
/* Registers libext2fs's messages and keeps libext2fs from printing its own
 * complaints about damaged metadata on stderr (com_err); once per process,
 * before a filesystem is opened. */
void gm_error_init_ext2(void);

#endif
