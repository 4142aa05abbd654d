/* error.c — see error.h. The only place foreign error codes are translated. */
#include "editor/error.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <ext2fs/ext2fs.h>
#include <et/com_err.h>

int gm_error_vset(struct gm_error *e, int code, const char *fmt, va_list ap)
{
	if (code > 0)
		code = -code;
	if (!e)
		return code;
	e->code = code;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	/* Keep it one line. */
	for (char *p = e->msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return code;
}

int gm_error_set(struct gm_error *e, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = gm_error_vset(e, code, fmt, ap);
	va_end(ap);
	return code;
}

void gm_error_clear(struct gm_error *e)
{
	if (!e)
		return;
	e->code = 0;
	e->msg[0] = '\0';
}

const char *gm_error_msg(const struct gm_error *e)
{
	if (!e)
		return "unknown error";
	if (e->msg[0])
		return e->msg;
	return e->code ? strerror(-e->code) : "no error";
}

int gm_errno_from_ext2(long errcode)
{
	if (errcode == 0)
		return 0;
	/* System errno values pass through unchanged. */
	if (errcode > 0 && errcode < 256)
		return (int)-errcode;
	switch (errcode) {
	case EXT2_ET_NO_MEMORY:
		return -ENOMEM;
	case EXT2_ET_DIR_NO_SPACE:
	case EXT2_ET_BLOCK_ALLOC_FAIL:
	case EXT2_ET_INODE_ALLOC_FAIL:
	case EXT2_ET_EA_NO_SPACE:
	case EXT2_ET_TOOSMALL:
		return -ENOSPC;
	case EXT2_ET_RO_FILSYS:
	case EXT2_ET_FILE_RO:
		return -EROFS;
	case EXT2_ET_FILE_NOT_FOUND:
	case EXT2_ET_EA_KEY_NOT_FOUND:
		return errcode == EXT2_ET_EA_KEY_NOT_FOUND ? -ENODATA : -ENOENT;
	case EXT2_ET_DIR_EXISTS:
		return -EEXIST;
	case EXT2_ET_NO_DIRECTORY:
		return -ENOTDIR;
	case EXT2_ET_TOO_MANY_REFS:
		return -EMLINK;
	case EXT2_ET_FILE_TOO_BIG:
	case EXT2_ET_EA_BAD_NAME_LEN:
	case EXT2_ET_EA_BAD_VALUE_SIZE:
		return errcode == EXT2_ET_FILE_TOO_BIG ? -EFBIG : -ERANGE;
	case EXT2_ET_UNIMPLEMENTED:
	case EXT2_ET_OP_NOT_SUPPORTED:
	case EXT2_ET_UNSUPP_FEATURE:
	case EXT2_ET_RO_UNSUPP_FEATURE:
	case EXT2_ET_MISSING_EA_FEATURE:
		return -EOPNOTSUPP;
	case EXT2_ET_BAD_MAGIC:
	case EXT2_ET_SB_CSUM_INVALID:
	case EXT2_ET_CORRUPT_SUPERBLOCK:
		return -EUCLEAN;
	case EXT2_ET_SHORT_READ:
	case EXT2_ET_SHORT_WRITE:
		return -EIO;
	case EXT2_ET_BAD_INODE_NUM:
	case EXT2_ET_BAD_BLOCK_NUM:
	case EXT2_ET_INODE_CSUM_INVALID:
	case EXT2_ET_EXTENT_CSUM_INVALID:
	case EXT2_ET_DIR_CSUM_INVALID:
	case EXT2_ET_DIR_CORRUPTED:
	case EXT2_ET_EXTENT_HEADER_BAD:
	case EXT2_ET_BAD_EA_HEADER:
	case EXT2_ET_BAD_EA_BLOCK_NUM:
		return -EUCLEAN;
	case EXT2_ET_INLINE_DATA_NO_SPACE:
		return -ENOSPC;
	default:
		return -EIO;
	}
}

/* libext2fs reports some oddities of damaged metadata itself, through
 * com_err(), on stderr ("ext2fs_block_alloc_stats: Illegal block number");
 * library code never prints: the failure reaches the user through our own
 * message. Silenced here, the one door for libext2fs's errors. */
static void quiet_com_err(const char *who, long code, const char *fmt, va_list ap)
{
	(void)who; (void)code; (void)fmt; (void)ap;
}

/* com_err knows libext2fs's messages only once its table is registered;
 * without this every code prints as "Unknown code ext2 N". */
static void register_ext2_messages(void)
{
	initialize_ext2_error_table();
	set_com_err_hook(quiet_com_err);
}

void gm_error_init_ext2(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, register_ext2_messages);
}

const char *gm_ext2_strerror(long errcode)
{
	const char *s;

	gm_error_init_ext2();
	s = error_message(errcode);

	return s ? s : "unknown libext2fs error";
}

void gm_note_append(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strnlen(buf, len);
	va_list ap;

	if (used + 3 >= len)
		return;
	if (used) {
		memcpy(buf + used, "; ", 3);
		used += 2;
	}
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}
