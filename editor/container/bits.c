/* bits.c — see bits.h. */
#include "editor/container/bits.h"

#include <string.h>

static inline uint64_t load64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;   /* little-endian hosts only (x86-64, arm64): deflate is LSB first */
}

size_t gm_bits_append(unsigned char *dst, unsigned dst_bits, const unsigned char *src,
		      unsigned src_bit, uint64_t nbits, unsigned *end_bits)
{
	uint64_t acc = dst_bits ? (uint64_t)(dst[0] & ((1u << dst_bits) - 1)) : 0;
	unsigned n = dst_bits;
	size_t o = 0;

	if (src_bit && nbits) {
		unsigned take = 8 - src_bit < nbits ? 8 - src_bit : (unsigned)nbits;

		acc |= (uint64_t)((src[0] >> src_bit) & ((1u << take) - 1)) << n;
		n += take;
		nbits -= take;
		src++;
		if (n >= 8) {
			dst[o++] = (unsigned char)acc;
			acc >>= 8;
			n -= 8;
		}
	}
	if (n == 0 && nbits >= 8) {          /* aligned: plain bytes */
		size_t k = (size_t)(nbits / 8);

		memcpy(dst + o, src, k);
		o += k;
		src += k;
		nbits -= (uint64_t)k * 8;
	}
	while (nbits >= 64) {                /* 7 bytes at a time, n < 8 */
		uint64_t w = load64(src) & ((1ULL << 56) - 1);

		acc |= w << n;
		memcpy(dst + o, &acc, 8);
		o += 7;
		acc = n ? (w >> (56 - n)) : 0;
		src += 7;
		nbits -= 56;
	}
	while (nbits >= 8) {
		acc |= (uint64_t)src[0] << n;
		src++;
		nbits -= 8;
		dst[o++] = (unsigned char)acc;
		acc >>= 8;
	}
	if (nbits) {
		acc |= (uint64_t)(src[0] & ((1u << nbits) - 1)) << n;
		n += (unsigned)nbits;
	}
	while (n >= 8) {
		dst[o++] = (unsigned char)acc;
		acc >>= 8;
		n -= 8;
	}
	dst[o] = n ? (unsigned char)acc : 0;
	*end_bits = n;
	return o;
}
