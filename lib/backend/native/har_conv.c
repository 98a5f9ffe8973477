/*
 * Direct ("indirect-pointer") convolution kernels for NHWC float32 tensors:
 * forward, filter gradient and input gradient, without an im2col matrix.
 *
 * Every output row (n, oh, ow) gathers, for each filter tap (kh, kw), a
 * pointer to the input row it reads (or to a zero row for padding); a
 * register-blocked micro-kernel then accumulates R rows x NV*VL output
 * channels over (tap, input channel). Filters use tfjs's layout
 * [FH, FW, Cin, Cout]. Built by lib/backend/native.ts with
 * `cc -O3 -march=native`; portable C with GCC/Clang vector extensions (AVX-512,
 * AVX2 or NEON code, whichever the compiler targets).
 *
 * Geometry array g (int32): N, H, W, Cin, OH, OW, Cout, FH, FW, sh, sw, dh, dw,
 * pt, pl (H, W, Cin: the input x; OH, OW, Cout: the output y).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * Register blocking follows the target's register file. AVX-512 (32 zmm):
 * 16-float vectors, tiles of up to 4 vectors x 6 rows (24 accumulators).
 * Otherwise (AVX2 / NEON: 16 registers of 8 or 4 floats) 8-float vectors,
 * tiles of at most 2 vectors and 12 accumulators, as BLIS's 6x16 Haswell
 * kernel: the AVX-512 tiles there would spill every accumulator (4-6x
 * slower than PyTorch on a Zen 3, measured).
 */
#if defined(__AVX512F__)
#define VL 16
#define WIDE 1
typedef float vf __attribute__((vector_size(64), aligned(4)));
typedef int32_t vi __attribute__((vector_size(64), aligned(4)));
#else
#define VL 8
#define WIDE 0
typedef float vf __attribute__((vector_size(32), aligned(4)));
typedef int32_t vi __attribute__((vector_size(32), aligned(4)));
#endif
/* Output-channel vectors per tile (columns CHUNK_NV * VL). */
#define CHUNK_NV (WIDE ? 4 : 2)

static inline vf vload(const float *p) { return *(const vf *)p; }
static inline void vstore(float *p, vf v) { *(vf *)p = v; }

enum { G_N, G_H, G_W, G_C, G_OH, G_OW, G_K, G_FH, G_FW, G_SH, G_SW, G_DH, G_DW, G_PT, G_PL };

/* Where the rows come from: `in` [N, inH, inW, inC]; rows enumerate (n, oh, ow) of an outH x outW grid. */
typedef struct {
  const float *in;
  int inH, inW, inC, outH, outW;
  int FH, FW, sh, sw, dh, dw, pt, pl;
  int transposed; /* 0: y[o] reads x[o*s - p + k*d]; 1: dx[i] reads dy[(i + p - k*d)/s] */
  const float *zeros;
} rows_src;

/*
 * Output row of enumeration index `idx`, and its (n, oh, ow). Rows are
 * enumerated in order, except for a transposed conv with a stride > 1, where
 * rows of one sample are grouped by phase (oh mod sh, ow mod sw): rows of a
 * phase read the same taps, so a tile of them skips the others.
 */
static inline long row_coords(const rows_src *s, long idx, int *n_, int *oh_, int *ow_) {
  long per = (long)s->outH * s->outW;
  long n = idx / per, rem = idx % per;
  int oh, ow;
  if (!s->transposed || (s->sh == 1 && s->sw == 1)) {
    oh = (int)(rem / s->outW);
    ow = (int)(rem % s->outW);
  } else {
    int ph = 0, pw = 0, ch = 0, cw = 0;
    for (ph = 0; ph < s->sh; ph++) {
      ch = (s->outH - ph + s->sh - 1) / s->sh;
      long blockH = (long)ch * s->outW; /* all pw phases of this ph */
      if (rem < blockH) break;
      rem -= blockH;
    }
    for (pw = 0; pw < s->sw; pw++) {
      cw = (s->outW - pw + s->sw - 1) / s->sw;
      long block = (long)ch * cw;
      if (rem < block) break;
      rem -= block;
    }
    oh = ph + (int)(rem / cw) * s->sh;
    ow = pw + (int)(rem % cw) * s->sw;
  }
  *n_ = (int)n;
  *oh_ = oh;
  *ow_ = ow;
  return (n * s->outH + oh) * s->outW + ow;
}

/* Pointers of one row for every tap (FH*FW entries); returns the output row. */
static inline long row_sources(const rows_src *s, long idx, const float **ptrs) {
  int n, oh, ow;
  long row = row_coords(s, idx, &n, &oh, &ow);
  const float *base = s->in + (size_t)n * s->inH * s->inW * s->inC;
  int k = 0;
  for (int kh = 0; kh < s->FH; kh++) {
    for (int kw = 0; kw < s->FW; kw++) {
      int ih, iw, ok;
      if (!s->transposed) {
        ih = oh * s->sh - s->pt + kh * s->dh;
        iw = ow * s->sw - s->pl + kw * s->dw;
        ok = ih >= 0 && ih < s->inH && iw >= 0 && iw < s->inW;
      } else {
        int a = oh + s->pt - kh * s->dh, b = ow + s->pl - kw * s->dw;
        ok = a >= 0 && b >= 0 && a % s->sh == 0 && b % s->sw == 0;
        ih = a / s->sh;
        iw = b / s->sw;
        ok = ok && ih < s->inH && iw < s->inW;
      }
      ptrs[k++] = ok ? base + ((size_t)ih * s->inW + iw) * s->inC : s->zeros;
    }
  }
  return row;
}

/* Store NV vectors of one row; `cols` (<= NV*16) valid columns; optional bias and ReLU. */
static inline void store_row(float *out, const vf *acc, int NV, int cols, const float *bias, int relu) {
  for (int j = 0; j < NV; j++) {
    vf v = acc[j];
    int c0 = j * VL, n = cols - c0;
    if (n <= 0) break;
    if (bias) {
      if (n >= VL) v += vload(bias + c0);
      else for (int i = 0; i < n; i++) v[i] += bias[c0 + i];
    }
    if (relu) v = (vf)((vi)v & ~(v <= 0)); /* max(v, 0), NaN kept (NaN <= 0 is false) */
    if (n >= VL) vstore(out + c0, v);
    else for (int i = 0; i < n; i++) out[c0 + i] = v[i];
  }
}

/*
 * Forward micro-kernel: R rows x NV vectors. ptrs: R*taps row pointers;
 * w: packed [taps][inC][ldw]; out: first row of the tile (row stride ldo).
 */
#define DEFINE_FWD(R, NV)                                                                   \
  static void fwd_##R##x##NV(const float *const *ptrs, int taps, int inC, const float *w, \
                             int ldw, float *const *out, int cols, const float *bias,      \
                             int relu, const float *zeros) {                              \
    vf acc[R][NV];                                                                        \
    _Pragma("GCC unroll 16") for (int r = 0; r < R; r++)                                  \
        _Pragma("GCC unroll 4") for (int j = 0; j < NV; j++) acc[r][j] = (vf){0};         \
    for (int t = 0; t < taps; t++) {                                                      \
      const float *p[R];                                                                  \
      int live = 0;                                                                       \
      _Pragma("GCC unroll 16") for (int r = 0; r < R; r++) {                              \
        p[r] = ptrs[r * taps + t];                                                        \
        live |= p[r] != zeros;                                                            \
      }                                                                                   \
      if (!live) continue;                                                                \
      const float *wt = w + (size_t)t * inC * ldw;                                        \
      for (int c = 0; c < inC; c++) {                                                     \
        vf wv[NV];                                                                        \
        _Pragma("GCC unroll 4") for (int j = 0; j < NV; j++) wv[j] =                      \
            vload(wt + (size_t)c * ldw + j * VL);                                         \
        _Pragma("GCC unroll 16") for (int r = 0; r < R; r++) {                            \
          vf b = (vf){0} + p[r][c];                                                       \
          _Pragma("GCC unroll 4") for (int j = 0; j < NV; j++) acc[r][j] += b * wv[j];    \
        }                                                                                 \
      }                                                                                   \
    }                                                                                     \
    for (int r = 0; r < R; r++) store_row(out[r], acc[r], NV, cols, bias, relu);          \
  }

#if WIDE
DEFINE_FWD(6, 4)
DEFINE_FWD(1, 4)
DEFINE_FWD(8, 3)
DEFINE_FWD(1, 3)
DEFINE_FWD(12, 2)
#else
DEFINE_FWD(6, 2)
#endif
DEFINE_FWD(1, 2)
DEFINE_FWD(12, 1)
DEFINE_FWD(1, 1)

typedef void (*fwd_fn)(const float *const *, int, int, const float *, int, float *const *, int,
                       const float *, int, const float *);

/*
 * out[rows, outC] = sum over taps and channels of src rows times w (packed
 * [taps][inC][ldw], ldw a multiple of 16 >= outC, zero beyond outC).
 */
static void conv_rows(const rows_src *s, long rows, const float *w, int ldw, int outC, float *out,
                      const float *bias, int relu) {
  int taps = s->FH * s->FW, inC = s->inC;
  const float **ptrs = malloc(sizeof(float *) * 12 * taps);
  float *outs[12];
  for (int co = 0; co < outC; co += CHUNK_NV * VL) {
    int cols = outC - co < CHUNK_NV * VL ? outC - co : CHUNK_NV * VL;
    int NV = (cols + VL - 1) / VL;
#if WIDE
    int R = NV == 4 ? 6 : NV == 3 ? 8 : 12;
    fwd_fn big = NV == 4 ? fwd_6x4 : NV == 3 ? fwd_8x3 : NV == 2 ? fwd_12x2 : fwd_12x1;
    fwd_fn one = NV == 4 ? fwd_1x4 : NV == 3 ? fwd_1x3 : NV == 2 ? fwd_1x2 : fwd_1x1;
#else
    int R = NV == 2 ? 6 : 12;
    fwd_fn big = NV == 2 ? fwd_6x2 : fwd_12x1;
    fwd_fn one = NV == 2 ? fwd_1x2 : fwd_1x1;
#endif
    const float *wc = w + co, *bc = bias ? bias + co : 0;
    long r = 0;
    for (; r + R <= rows; r += R) {
      for (int i = 0; i < R; i++) outs[i] = out + row_sources(s, r + i, ptrs + i * taps) * outC + co;
      big(ptrs, taps, inC, wc, ldw, outs, cols, bc, relu, s->zeros);
    }
    for (; r < rows; r++) {
      outs[0] = out + row_sources(s, r, ptrs) * outC + co;
      one(ptrs, taps, inC, wc, ldw, outs, cols, bc, relu, s->zeros);
    }
  }
  free(ptrs);
}

/*
 * Narrow-output kernel (outC <= 8): vectors run along the reduction
 * (input channels) instead, with one accumulator per (row, output channel),
 * summed horizontally at the end. wT: [taps][CO][inC] (CO >= outC, zero rows
 * beyond outC).
 */
#define DEFINE_NARROW(R, CO)                                                                 \
  static void narrow_##R##x##CO(const float *const *ptrs, int taps, int inC, const float *wT, \
                                float *const *out, int outC, const float *bias, int relu,    \
                                const float *zeros) {                                        \
    vf acc[R][CO];                                                                           \
    float tail[R][CO];                                                                       \
    _Pragma("GCC unroll 8") for (int r = 0; r < R; r++)                                      \
        _Pragma("GCC unroll 8") for (int j = 0; j < CO; j++) {                               \
      acc[r][j] = (vf){0};                                                                   \
      tail[r][j] = 0;                                                                        \
    }                                                                                        \
    int nv = inC / VL * VL;                                                                  \
    for (int t = 0; t < taps; t++) {                                                         \
      const float *p[R];                                                                     \
      int live = 0;                                                                          \
      _Pragma("GCC unroll 8") for (int r = 0; r < R; r++) {                                  \
        p[r] = ptrs[r * taps + t];                                                           \
        live |= p[r] != zeros;                                                               \
      }                                                                                      \
      if (!live) continue;                                                                   \
      const float *wt = wT + (size_t)t * CO * inC;                                           \
      for (int c = 0; c < nv; c += VL) {                                                     \
        vf x[R];                                                                             \
        _Pragma("GCC unroll 8") for (int r = 0; r < R; r++) x[r] = vload(p[r] + c);          \
        _Pragma("GCC unroll 8") for (int j = 0; j < CO; j++) {                               \
          vf wv = vload(wt + (size_t)j * inC + c);                                           \
          _Pragma("GCC unroll 8") for (int r = 0; r < R; r++) acc[r][j] += x[r] * wv;        \
        }                                                                                    \
      }                                                                                      \
      for (int c = nv; c < inC; c++)                                                         \
        for (int j = 0; j < CO; j++)                                                         \
          for (int r = 0; r < R; r++) tail[r][j] += p[r][c] * wt[(size_t)j * inC + c];       \
    }                                                                                        \
    for (int r = 0; r < R; r++)                                                              \
      for (int j = 0; j < outC; j++) {                                                       \
        float v = tail[r][j];                                                                \
        for (int i = 0; i < VL; i++) v += acc[r][j][i];                                      \
        if (bias) v += bias[j];                                                              \
        if (relu && v < 0) v = 0;                                                            \
        out[r][j] = v;                                                                       \
      }                                                                                      \
  }

DEFINE_NARROW(4, 2)
DEFINE_NARROW(1, 2)
#if WIDE
DEFINE_NARROW(4, 4)
DEFINE_NARROW(3, 8)
#else
DEFINE_NARROW(2, 4)
DEFINE_NARROW(2, 8)
#endif
DEFINE_NARROW(1, 4)
DEFINE_NARROW(1, 8)

typedef void (*narrow_fn)(const float *const *, int, int, const float *, float *const *, int,
                          const float *, int, const float *);

/* Largest output-channel count the narrow kernel takes. */
#define NARROW_MAX 8

/* Narrow driver: like conv_rows for outC <= NARROW_MAX, weights wT [taps][CO][inC]. */
static void conv_rows_narrow(const rows_src *s, long rows, const float *wT, int CO, int outC,
                             float *out, const float *bias, int relu) {
  int taps = s->FH * s->FW;
#if WIDE
  int R = CO == 8 ? 3 : 4;
  narrow_fn big = CO == 8 ? narrow_3x8 : CO == 4 ? narrow_4x4 : narrow_4x2;
#else
  int R = CO == 2 ? 4 : 2;
  narrow_fn big = CO == 8 ? narrow_2x8 : CO == 4 ? narrow_2x4 : narrow_4x2;
#endif
  narrow_fn one = CO == 8 ? narrow_1x8 : CO == 4 ? narrow_1x4 : narrow_1x2;
  const float **ptrs = malloc(sizeof(float *) * 4 * taps);
  float *outs[4];
  long r = 0;
  for (; r + R <= rows; r += R) {
    for (int i = 0; i < R; i++) outs[i] = out + row_sources(s, r + i, ptrs + i * taps) * outC;
    big(ptrs, taps, s->inC, wT, outs, outC, bias, relu, s->zeros);
  }
  for (; r < rows; r++) {
    outs[0] = out + row_sources(s, r, ptrs) * outC;
    one(ptrs, taps, s->inC, wT, outs, outC, bias, relu, s->zeros);
  }
  free(ptrs);
}

/* Narrow kernels' padded channel count for outC (<= NARROW_MAX). */
static inline int narrow_co(int outC) { return outC <= 2 ? 2 : outC <= 4 ? 4 : 8; }

static inline int round16(int c) { return (c + VL - 1) / VL * VL; }

/*
 * Per-thread scratch buffers (Web Workers are threads of one process): large
 * buffers are reused across calls instead of being mapped, page-faulted and
 * unmapped by malloc every time. NULL when memory runs out.
 */
#define SCRATCH_SLOTS 4
static __thread float *scratch_buf[SCRATCH_SLOTS];
static __thread size_t scratch_cap[SCRATCH_SLOTS];
static float *scratch(int slot, size_t n) {
  if (scratch_cap[slot] < n) {
    free(scratch_buf[slot]);
    size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    scratch_buf[slot] = aligned_alloc(64, bytes);
    scratch_cap[slot] = scratch_buf[slot] ? n : 0;
  }
  return scratch_buf[slot];
}

/* ---- Winograd F(m, r) for 1-D stride-1 convolutions (n = m + r - 1 = 8 points) ---- */

#define WN 8

/*
 * Toom-Cook matrices for the correlation y[i] = sum_k d[i + k] g[k]
 * (i < m, k < r, d of length n): y = AT [(G g) . (BT d)], with the points
 * 0, 1, -1, 2, -2, 1/2, -1/2 and infinity. E_k is the n x k evaluation matrix
 * (rows [1, a, ..., a^(k-1)]; the infinity row picks the top coefficient);
 * G = E_r, AT = E_m^T, BT = (E_n^-1)^T.
 */
static void wino_mats(int m, int r, float AT[WN][WN], float G[WN][WN], float BT[WN][WN]) {
  static const double pts[WN - 1] = {0, 1, -1, 2, -2, 0.5, -0.5};
  double V[WN][2 * WN];
  for (int j = 0; j < WN; j++)
    for (int c = 0; c < WN; c++) {
      double e = j < WN - 1 ? 1 : (c == WN - 1);
      if (j < WN - 1)
        for (int q = 0; q < c; q++) e *= pts[j];
      V[j][c] = e;
      V[j][WN + c] = j == c;
    }
  for (int c = 0; c < WN; c++) { /* Gauss-Jordan with partial pivoting */
    int p = c;
    for (int i = c + 1; i < WN; i++)
      if ((V[i][c] < 0 ? -V[i][c] : V[i][c]) > (V[p][c] < 0 ? -V[p][c] : V[p][c])) p = i;
    for (int j = 0; j < 2 * WN; j++) {
      double t = V[c][j];
      V[c][j] = V[p][j];
      V[p][j] = t;
    }
    double d = V[c][c];
    for (int j = 0; j < 2 * WN; j++) V[c][j] /= d;
    for (int i = 0; i < WN; i++)
      if (i != c) {
        double f = V[i][c];
        for (int j = 0; j < 2 * WN; j++) V[i][j] -= f * V[c][j];
      }
  }
  for (int i = 0; i < WN; i++)
    for (int j = 0; j < WN; j++) BT[i][j] = (float)V[j][WN + i];
  for (int j = 0; j < WN; j++)
    for (int c = 0; c < WN; c++) {
      double eg = 0, ea = 0;
      if (j < WN - 1) {
        eg = ea = 1;
        for (int q = 0; q < c; q++) eg *= pts[j];
        ea = eg;
      } else {
        eg = c == r - 1;
        ea = c == m - 1;
      }
      G[j][c] = c < r ? (float)eg : 0;
      if (c < m) AT[c][j] = (float)ea;
    }
}

/*
 * One tile of a Winograd transform: dst[(xi*T + t)*C + c] = sum_{j < nin}
 * Mx[xi][j] * src[j][c] for the WN points xi, vectorised over channels c.
 */
static inline __attribute__((always_inline)) void wino_transform_tile(const float Mx[WN][WN], int nin, const float *const *src, int C,
                                float *dst, long T, long t) {
  int cv = C / VL * VL;
  for (int c = 0; c < cv; c += VL) {
    vf v[WN];
    for (int j = 0; j < nin; j++) v[j] = vload(src[j] + c);
    for (int xi = 0; xi < WN; xi++) {
      vf acc = (vf){0};
      for (int j = 0; j < nin; j++) acc += Mx[xi][j] * v[j];
      vstore(dst + ((size_t)xi * T + t) * C + c, acc);
    }
  }
  for (int c = cv; c < C; c++)
    for (int xi = 0; xi < WN; xi++) {
      float acc = 0;
      for (int j = 0; j < nin; j++) acc += Mx[xi][j] * src[j][c];
      dst[((size_t)xi * T + t) * C + c] = acc;
    }
}

/* Whether a conv can run as a 1-D Winograd correlation: height 1, stride 1, no dilation, r in 3..5, wide enough. */
static int wino_ok(int H, int OH, int FH, int FW, int sh, int sw, int dh, int dw, int inC, int outC) {
  return H == 1 && OH == 1 && FH == 1 && FW >= 3 && FW <= 5 && sh == 1 && sw == 1 && dh == 1 &&
         dw == 1 && inC >= 16 && outC >= 16;
}

/*
 * out[b][o][:] = sum_k in[b][o - pad + k][:] . w[k]  (w: [r][inC][outC] read
 * through wAt(k, ci, co) layout given by (wsK, wsC, wsO) strides), for
 * o < outL, by Winograd F(9 - r, r): input and output transforms vectorised
 * over channels, the 8 products as GEMMs on the micro-kernels.
 */
static int wino1d(const float *in, int N, int inL, int inC, const float *w, long wsK, long wsC,
                  long wsO, int r, int pad, float *out, int outL, int outC, const float *bias,
                  int relu) {
  int m = WN + 1 - r;
  float AT[WN][WN], G[WN][WN], BT[WN][WN];
  wino_mats(m, r, AT, G, BT);
  int tilesPer = (outL + m - 1) / m;
  long T = (long)N * tilesPer;
  int ldu = round16(outC);
  float *U = scratch(0, (size_t)WN * inC * ldu);
  float *Vb = scratch(1, (size_t)WN * T * inC);
  float *Mb = scratch(2, (size_t)WN * T * outC);
  float *wc = scratch(3, (size_t)r * inC * outC + inC);
  if (!U || !Vb || !Mb || !wc) return -1;
  float *zeros = wc + (size_t)r * inC * outC;
  memset(zeros, 0, inC * sizeof(float));
  memset(U, 0, (size_t)WN * inC * ldu * sizeof(float));
  /* the filter as [r][inC][outC], contiguous (a blocked transpose when it is strided) */
  for (int k = 0; k < r; k++) {
    const float *wk = w + k * wsK;
    float *dk = wc + (size_t)k * inC * outC;
    if (wsO == 1 && wsC == outC) {
      memcpy(dk, wk, (size_t)inC * outC * sizeof(float));
      continue;
    }
    for (int c0 = 0; c0 < inC; c0 += 32)
      for (int o0 = 0; o0 < outC; o0 += 32)
        for (int ci = c0; ci < c0 + 32 && ci < inC; ci++)
          for (int co = o0; co < o0 + 32 && co < outC; co++) dk[(size_t)ci * outC + co] = wk[ci * wsC + co * wsO];
  }
  /* U[xi][ci][co] = sum_k G[xi][k] w[k][ci][co] */
  for (int xi = 0; xi < WN; xi++)
    for (int k = 0; k < r; k++) {
      float gk = G[xi][k];
      if (gk == 0) continue;
      for (int ci = 0; ci < inC; ci++) {
        float *u = U + ((size_t)xi * inC + ci) * ldu;
        const float *wk = wc + ((size_t)k * inC + ci) * outC;
        for (int co = 0; co < outC; co++) u[co] += gk * wk[co];
      }
    }
  /* V[xi][t][:] = sum_j BT[xi][j] d_j, d_j = in[b][t0 - pad + j] (zero outside) */
  for (long t = 0; t < T; t++) {
    long b = t / tilesPer;
    int o0 = (int)(t % tilesPer) * m;
    const float *d[WN];
    for (int j = 0; j < WN; j++) {
      int p = o0 - pad + j;
      d[j] = p >= 0 && p < inL ? in + ((size_t)b * inL + p) * inC : zeros;
    }
    wino_transform_tile(BT, WN, d, inC, Vb, T, t);
  }
  /* M[xi] = V[xi] . U[xi] */
  for (int xi = 0; xi < WN; xi++) {
    rows_src s = {Vb + (size_t)xi * T * inC, 1, (int)T, inC, 1, (int)T, 1, 1, 1, 1, 1, 1, 0, 0, 0,
                  zeros};
    conv_rows(&s, T, U + (size_t)xi * inC * ldu, ldu, outC, Mb + (size_t)xi * T * outC, 0, 0);
  }
  /* out[b][o0 + i][:] = sum_xi AT[i][xi] M[xi][t][:] (+ bias, ReLU) */
  int ov = outC / VL * VL;
  for (long t = 0; t < T; t++) {
    long b = t / tilesPer;
    int o0 = (int)(t % tilesPer) * m;
    for (int i = 0; i < m && o0 + i < outL; i++) {
      float *o = out + ((size_t)b * outL + o0 + i) * outC;
      for (int c = 0; c < ov; c += VL) {
        vf acc = bias ? vload(bias + c) : (vf){0};
        for (int xi = 0; xi < WN; xi++)
          if (AT[i][xi] != 0) acc += AT[i][xi] * vload(Mb + ((size_t)xi * T + t) * outC + c);
        if (relu) acc = (vf)((vi)acc & ~(acc <= 0)); /* NaN kept */
        vstore(o + c, acc);
      }
      for (int c = ov; c < outC; c++) {
        float acc = bias ? bias[c] : 0;
        for (int xi = 0; xi < WN; xi++) acc += AT[i][xi] * Mb[((size_t)xi * T + t) * outC + c];
        o[c] = relu && acc < 0 ? 0 : acc;
      }
    }
  }
  return 0;
}

/* Set by har_set_winograd (tests compare both paths); on by default. */
static volatile int winograd_on = 1;

/* Turn the Winograd path on (1) or off (0); returns the previous setting. */
int32_t har_set_winograd(int32_t on) {
  int prev = winograd_on;
  winograd_on = on != 0;
  return prev;
}

/*
 * y = conv(x, w) (+ bias, ReLU when flags & 1). Offsets are float32 element
 * offsets into `base` (the wasm heap); bias < 0: none.
 */
void har_conv_forward(float *base, int32_t x, int32_t w, int32_t y, int32_t bias,
                      const int32_t *g, int32_t flags) {
  int taps = g[G_FH] * g[G_FW], C = g[G_C], K = g[G_K];
  long rows = (long)g[G_N] * g[G_OH] * g[G_OW];
  if (rows == 0 || K == 0) return;
  if (winograd_on && wino_ok(g[G_H], g[G_OH], g[G_FH], g[G_FW], g[G_SH], g[G_SW], g[G_DH], g[G_DW], C, K) &&
      wino1d(base + x, g[G_N], g[G_W], C, base + w, (long)C * K, K, 1, g[G_FW], g[G_PL], base + y,
             g[G_OW], K, bias >= 0 ? base + bias : 0, flags & 1) == 0)
    return;
  float *zeros = calloc(C > 0 ? C : 1, sizeof(float));
  rows_src s = {base + x, g[G_H], g[G_W], C, g[G_OH], g[G_OW], g[G_FH], g[G_FW], g[G_SH], g[G_SW],
                g[G_DH], g[G_DW], g[G_PT], g[G_PL], 0, zeros};
  if (K <= NARROW_MAX && C >= VL) {
    int CO = narrow_co(K);
    float *wT = calloc((size_t)taps * CO * C, sizeof(float));
    const float *src = base + w;
    for (int t = 0; t < taps; t++)
      for (int ci = 0; ci < C; ci++)
        for (int co = 0; co < K; co++) wT[((size_t)t * CO + co) * C + ci] = src[((size_t)t * C + ci) * K + co];
    conv_rows_narrow(&s, rows, wT, CO, K, base + y, bias >= 0 ? base + bias : 0, flags & 1);
    free(wT);
    free(zeros);
    return;
  }
  int ldw = round16(K);
  const float *wp = base + w;
  float *packed = 0;
  if (ldw != K) {
    packed = calloc((size_t)taps * C * ldw, sizeof(float));
    for (long i = 0; i < (long)taps * C; i++) memcpy(packed + i * ldw, wp + i * K, K * sizeof(float));
    wp = packed;
  }
  conv_rows(&s, rows, wp, ldw, K, base + y, bias >= 0 ? base + bias : 0, flags & 1);
  free(packed);
  free(zeros);
}

/* dx[N, H, W, Cin] of y = conv(x, w) given dy[N, OH, OW, Cout]: a transposed conv with w's taps transposed. */
void har_conv_backprop_input(float *base, int32_t dy, int32_t w, int32_t dx, const int32_t *g) {
  int taps = g[G_FH] * g[G_FW], C = g[G_C], K = g[G_K];
  long rows = (long)g[G_N] * g[G_H] * g[G_W];
  if (rows == 0 || C == 0) return;
  if (K == 0) {
    memset(base + dx, 0, rows * C * sizeof(float));
    return;
  }
  /* stride 1: dx[i] = sum_j dy[i - (r-1-pad) + j] . w[r-1-j]^T, a correlation with the flipped, transposed filter */
  if (winograd_on && wino_ok(g[G_OH], g[G_H], g[G_FH], g[G_FW], g[G_SH], g[G_SW], g[G_DH], g[G_DW], K, C)) {
    int r = g[G_FW];
    /* w'[j][co][ci] = w[r-1-j][ci][co]: start at tap r-1, step -C*K per tap, K... */
    const float *w0 = base + w + (size_t)(r - 1) * C * K;
    if (wino1d(base + dy, g[G_N], g[G_OW], K, w0, -(long)C * K, 1, K, r, r - 1 - g[G_PL], base + dx,
               g[G_W], C, 0, 0) == 0)
      return;
  }
  float *zeros = calloc(K, sizeof(float));
  rows_src s = {base + dy, g[G_OH], g[G_OW], K, g[G_H], g[G_W], g[G_FH], g[G_FW], g[G_SH], g[G_SW],
                g[G_DH], g[G_DW], g[G_PT], g[G_PL], 1, zeros};
  const float *wp = base + w;
  if (C <= NARROW_MAX && K >= VL) {
    /* w [taps][C][K] is already [taps][outC][inC] of the transposed conv */
    int CO = narrow_co(C);
    float *wT = calloc((size_t)taps * CO * K, sizeof(float));
    for (int t = 0; t < taps; t++)
      memcpy(wT + (size_t)t * CO * K, wp + (size_t)t * C * K, (size_t)C * K * sizeof(float));
    conv_rows_narrow(&s, rows, wT, CO, C, base + dx, 0, 0);
    free(wT);
    free(zeros);
    return;
  }
  int ldw = round16(C);
  float *packed = calloc((size_t)taps * K * ldw, sizeof(float));
  for (int t = 0; t < taps; t++)
    for (int ci = 0; ci < C; ci++)
      for (int co = 0; co < K; co++)
        packed[((size_t)t * K + co) * ldw + ci] = wp[((size_t)t * C + ci) * K + co];
  conv_rows(&s, rows, packed, ldw, C, base + dx, 0, 0);
  free(zeros);
  free(packed);
}

/*
 * Filter-gradient micro-kernel: RC input channels x NV vectors of output
 * channels, reduced over `nrows` rows. xp: per row, the source pointer of this
 * tap (already offset to the first channel); d: dy rows (stride ldd, padded).
 */
#define DEFINE_BWF(RC, NV)                                                                   \
  static void bwf_##RC##x##NV(const float *const *xp, int ptap, const float *zeros, int c0, \
                              long nrows, const float *d, int ldd, float *dw, int lddw,      \
                              int cols) {                                                    \
    vf acc[RC][NV];                                                                          \
    _Pragma("GCC unroll 16") for (int i = 0; i < RC; i++)                                     \
        _Pragma("GCC unroll 4") for (int j = 0; j < NV; j++) acc[i][j] = (vf){0};            \
    for (long r = 0; r < nrows; r++) {                                                       \
      const float *p = xp[r * ptap];                                                         \
      if (p == zeros) continue;                                                              \
      p += c0;                                                                               \
      vf dv[NV];                                                                             \
      _Pragma("GCC unroll 4") for (int j = 0; j < NV; j++) dv[j] = vload(d + r * ldd + j * VL); \
      _Pragma("GCC unroll 16") for (int i = 0; i < RC; i++) {                                 \
        vf b = (vf){0} + p[i];                                                               \
        _Pragma("GCC unroll 4") for (int j = 0; j < NV; j++) acc[i][j] += b * dv[j];         \
      }                                                                                      \
    }                                                                                        \
    for (int i = 0; i < RC; i++) {                                                           \
      float *o = dw + (size_t)i * lddw;                                                      \
      for (int j = 0; j < NV; j++) {                                                         \
        int n = cols - j * VL;                                                               \
        if (n <= 0) break;                                                                   \
        if (n >= VL) vstore(o + j * VL, vload(o + j * VL) + acc[i][j]);                      \
        else for (int q = 0; q < n; q++) o[j * VL + q] += acc[i][j][q];                      \
      }                                                                                      \
    }                                                                                        \
  }

#if WIDE
DEFINE_BWF(6, 4)
DEFINE_BWF(4, 4)
DEFINE_BWF(2, 4)
DEFINE_BWF(1, 4)
DEFINE_BWF(8, 3)
DEFINE_BWF(4, 3)
DEFINE_BWF(2, 3)
DEFINE_BWF(1, 3)
DEFINE_BWF(12, 2)
DEFINE_BWF(8, 2)
#else
DEFINE_BWF(6, 2)
#endif
DEFINE_BWF(4, 2)
DEFINE_BWF(2, 2)
DEFINE_BWF(1, 2)
DEFINE_BWF(12, 1)
DEFINE_BWF(8, 1)
DEFINE_BWF(4, 1)
DEFINE_BWF(2, 1)
DEFINE_BWF(1, 1)

typedef void (*bwf_fn)(const float *const *, int, const float *, int, long, const float *, int,
                       float *, int, int);

/* Filter-gradient kernels by NV (1..4): channel-block sizes, largest first (0-terminated). */
#if WIDE
static const int BWF_RC[5][6] = {{0}, {12, 8, 4, 2, 1, 0}, {12, 8, 4, 2, 1, 0}, {8, 4, 2, 1, 0}, {6, 4, 2, 1, 0}};
#else
static const int BWF_RC[5][6] = {{0}, {12, 8, 4, 2, 1, 0}, {6, 4, 2, 1, 0}, {0}, {0}};
#endif
static bwf_fn bwf_kernel(int nv, int rc) {
  switch (nv * 100 + rc) {
#if WIDE
    case 406: return bwf_6x4; case 404: return bwf_4x4; case 402: return bwf_2x4; case 401: return bwf_1x4;
    case 308: return bwf_8x3; case 304: return bwf_4x3; case 302: return bwf_2x3; case 301: return bwf_1x3;
    case 212: return bwf_12x2; case 208: return bwf_8x2;
#else
    case 206: return bwf_6x2;
#endif
    case 204: return bwf_4x2; case 202: return bwf_2x2;
    case 201: return bwf_1x2;
    case 112: return bwf_12x1; case 108: return bwf_8x1; case 104: return bwf_4x1; case 102: return bwf_2x1;
    default: return bwf_1x1;
  }
}

/* dw[FH, FW, Cin, Cout] of y = conv(x, w) given x and dy. */
/* out[taps][C][K] = sum over rows of src(row, tap)[ci] * dy[row][co] (out zeroed by the caller). */
static void filter_grad(const rows_src *s, long rows, const float *dyp, int K, float *out) {
  int taps = s->FH * s->FW, C = s->inC;
  int ldd = round16(K);
  /* rows per chunk: the chunk's dy (ldd floats a row) stays in L1/L2 */
  long chunk = 16384 / ldd;
  if (chunk < 32) chunk = 32;
  if (chunk > 512) chunk = 512;
  const float **ptrs = malloc(sizeof(float *) * chunk * taps);
  float *d = aligned_alloc(64, (size_t)chunk * ldd * sizeof(float));
  for (long r0 = 0; r0 < rows; r0 += chunk) {
    long nr = rows - r0 < chunk ? rows - r0 : chunk;
    for (long r = 0; r < nr; r++) {
      row_sources(s, r0 + r, ptrs + r * taps);
      memcpy(d + r * ldd, dyp + (r0 + r) * K, K * sizeof(float));
      if (ldd != K) memset(d + r * ldd + K, 0, (ldd - K) * sizeof(float));
    }
    for (int co = 0; co < K; co += CHUNK_NV * VL) {
      int cols = K - co < CHUNK_NV * VL ? K - co : CHUNK_NV * VL;
      int NV = (cols + VL - 1) / VL;
      for (int t = 0; t < taps; t++) {
        for (int c0 = 0; c0 < C;) {
          int k = 0;
          while (c0 + BWF_RC[NV][k] > C) k++;
          int rc = BWF_RC[NV][k];
          bwf_kernel(NV, rc)(ptrs + t, taps, s->zeros, c0, nr, d + co, ldd,
                             out + ((size_t)t * C + c0) * K + co, K, cols);
          c0 += rc;
        }
      }
    }
  }
  free(d);
  free(ptrs);
}

/*
 * Filter gradient of a 1-D stride-1 conv by Winograd F(r, m) (the dy tile of
 * length m = 9 - r is the "filter", the r taps the outputs):
 * dw[k] = sum_xi AT[k][xi] (Vx[xi]^T . Udy[xi]), Vx = BT x-tiles, Udy = G dy-tiles.
 */
static int wino1d_filter(const float *x, int N, int inL, int C, const float *dy, int outL, int K,
                         int r, int pad, float *dw) {
  int m = WN + 1 - r;
  float AT[WN][WN], G[WN][WN], BT[WN][WN];
  wino_mats(r, m, AT, G, BT); /* r outputs, filter (dy tile) of length m */
  int tilesPer = (outL + m - 1) / m;
  long T = (long)N * tilesPer;
  float *Vx = scratch(1, (size_t)WN * T * C);
  float *Ud = scratch(2, (size_t)WN * T * K);
  float *P = scratch(0, (size_t)WN * C * K + C + K);
  if (!Vx || !Ud || !P) return -1;
  float *zeros = P + (size_t)WN * C * K;
  memset(zeros, 0, (C + K) * sizeof(float));
  for (long t = 0; t < T; t++) {
    long b = t / tilesPer;
    int o0 = (int)(t % tilesPer) * m;
    const float *xs[WN], *ds[WN];
    for (int j = 0; j < WN; j++) {
      int p = o0 - pad + j;
      xs[j] = p >= 0 && p < inL ? x + ((size_t)b * inL + p) * C : zeros;
    }
    for (int i = 0; i < m; i++) ds[i] = o0 + i < outL ? dy + ((size_t)b * outL + o0 + i) * K : zeros;
    wino_transform_tile(BT, WN, xs, C, Vx, T, t);
    wino_transform_tile(G, m, ds, K, Ud, T, t);
  }
  memset(P, 0, (size_t)WN * C * K * sizeof(float));
  for (int xi = 0; xi < WN; xi++) {
    rows_src s = {Vx + (size_t)xi * T * C, 1, (int)T, C, 1, (int)T, 1, 1, 1, 1, 1, 1, 0, 0, 0, zeros};
    filter_grad(&s, T, Ud + (size_t)xi * T * K, K, P + (size_t)xi * C * K);
  }
  /* dw[k] = sum_xi AT[k][xi] P[xi] */
  long ck = (long)C * K;
  for (int k = 0; k < r; k++) {
    float *o = dw + k * ck;
    for (long e = 0; e < ck; e++) {
      float acc = 0;
      for (int xi = 0; xi < WN; xi++) acc += AT[k][xi] * P[xi * ck + e];
      o[e] = acc;
    }
  }
  return 0;
}

/* dw[FH, FW, Cin, Cout] of y = conv(x, w) given x and dy. */
void har_conv_backprop_filter(float *base, int32_t x, int32_t dy, int32_t dw, const int32_t *g) {
  int taps = g[G_FH] * g[G_FW], C = g[G_C], K = g[G_K];
  long rows = (long)g[G_N] * g[G_OH] * g[G_OW];
  float *out = base + dw;
  if (winograd_on && rows > 0 &&
      wino_ok(g[G_H], g[G_OH], g[G_FH], g[G_FW], g[G_SH], g[G_SW], g[G_DH], g[G_DW], C, K) &&
      wino1d_filter(base + x, g[G_N], g[G_W], C, base + dy, g[G_OW], K, g[G_FW], g[G_PL], out) == 0)
    return;
  memset(out, 0, (size_t)taps * C * K * sizeof(float));
  if (rows == 0 || C == 0 || K == 0) return;
  float *zeros = calloc(C, sizeof(float));
  rows_src s = {base + x, g[G_H], g[G_W], C, g[G_OH], g[G_OW], g[G_FH], g[G_FW], g[G_SH], g[G_SW],
                g[G_DH], g[G_DW], g[G_PT], g[G_PL], 0, zeros};
  filter_grad(&s, rows, base + dy, K, out);
  free(zeros);
}

/* Version of this file's ABI (bump when a signature changes). */
int32_t har_native_version(void) { return 1; }
