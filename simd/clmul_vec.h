/*
 * clmul_vec.h - the vector layer of the carry-less-multiply folding templates
 * (crc32c_vpclmul_template.h, crc32z_pclmul_template.h): one set of names over xmm, ymm or zmm
 * registers for VL = 16, 32 or 64 bytes. A template includes it once VL is defined (and
 * test_crc32z_zmm_model.c after its models of the AVX-512 intrinsics). No include guard: a
 * template may #undef these names at its end, and identical redefinitions are allowed.
 */
#include <immintrin.h>

#define VMULTS2_128(hi, lo) _mm_set_epi64x((long long)(lo), (long long)(hi))
#if VL == 16
#define vec_t             __m128i
#define VLOADU(p)         _mm_loadu_si128((const void *)(p))
#define VCLMUL(a, b, imm) _mm_clmulepi64_si128((a), (b), (imm))
#define VXOR(a, b)        _mm_xor_si128((a), (b))
#define VXOR3(a, b, c)    _mm_xor_si128(_mm_xor_si128((a), (b)), (c))
#define VFROM128(x)       (x)
#define VMULTS2(hi, lo)   VMULTS2_128(hi, lo)
#elif VL == 32
#define vec_t             __m256i
#define VLOADU(p)         _mm256_loadu_si256((const void *)(p))
#define VCLMUL(a, b, imm) _mm256_clmulepi64_epi128((a), (b), (imm))
#define VXOR(a, b)        _mm256_xor_si256((a), (b))
#define VXOR3(a, b, c)    _mm256_xor_si256(_mm256_xor_si256((a), (b)), (c))
#define VFROM128(x)       _mm256_zextsi128_si256(x)
#define VMULTS2(hi, lo)   _mm256_broadcastsi128_si256(VMULTS2_128(hi, lo))
#elif VL == 64
#define vec_t             __m512i
#define VLOADU(p)         _mm512_loadu_si512((const void *)(p))
#define VCLMUL(a, b, imm) _mm512_clmulepi64_epi128((a), (b), (imm))
#define VXOR(a, b)        _mm512_xor_si512((a), (b))
#define VXOR3(a, b, c)    _mm512_ternarylogic_epi64((a), (b), (c), 0x96) /* a ^ b ^ c */
#define VFROM128(x)       _mm512_zextsi128_si512(x)
#define VMULTS2(hi, lo)   _mm512_broadcast_i32x4(VMULTS2_128(hi, lo))
#else
#error "VL must be 16, 32 or 64"
#endif
