/* bits.h — copying a run of bits between LSB-first bit streams (deflate's
 * bit order), for splicing deflate blocks at any bit position. Pure. */
#ifndef GM_BITS_H
#define GM_BITS_H

#include <stddef.h>
#include <stdint.h>

/* Appends nbits bits of src, starting at bit src_bit (0-7) of src[0], to a
 * stream whose last byte dst[0] already holds dst_bits (0-7) low bits. The
 * bits of dst[0] above them are replaced. Reads at most
 * ceil((src_bit + nbits) / 8) bytes of src; writes
 * ceil((dst_bits + nbits) / 8) bytes of dst plus up to 8 bytes of slack (dst
 * must have room). Returns the number of whole bytes completed; *end_bits
 * gets the bits (0-7) of the partial byte that follows them (its value is
 * dst[return value], upper bits zero). */
size_t gm_bits_append(unsigned char *dst, unsigned dst_bits, const unsigned char *src,
		      unsigned src_bit, uint64_t nbits, unsigned *end_bits);

#endif
