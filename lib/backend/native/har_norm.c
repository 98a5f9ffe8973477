/*
 * Training-mode batch normalisation over the last axis of a float32 tensor
 * viewed as `rows` x `ch` (channels contiguous): forward (y, batch mean, batch
 * variance) and backward (dx, dgamma, dbeta) in two passes each, on the wasm
 * heap (offsets in float32 elements from `base`).
 *
 * Per-channel sums are accumulated in double; the forward pass sums x - s and
 * (x - s)^2 around a shift s (the channel's first value), so the one-pass
 * variance does not cancel. The elementwise passes run in float and
 * vectorise over the channel loop. Built by lib/backend/native.ts with
 * `cc -O3 -march=native`; the JS kernels (lib/backend/norm_kernels.ts)
 * compute the same formulas.
 *
 * Forward, per channel j over the M = rows values:
 *   mean = sum(x) / M, var = sum((x - mean)^2) / M (biased, as tf.moments),
 *   y = (x - mean) * gamma * rstd + beta,  rstd = 1 / sqrt(var + eps).
 * Backward, with xhat = (x - mean) * rstd:
 *   dbeta = sum(dy), dgamma = sum(dy * xhat),
 *   dx = gamma * rstd / M * (M * dy - dbeta - xhat * dgamma).
 *
 * Scratch: the channels are processed in blocks of at most BN_BLOCK, with the
 * per-channel scratch of a block on the stack (about 40 KiB), so nothing is
 * allocated and nothing can fail. A block reads BN_BLOCK contiguous floats of
 * each row; the papers' models have at most a few hundred channels, one block.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

/* Channels per block (per-channel scratch on the stack). */
#define BN_BLOCK 1024

/* Forward over channels [j0, j0 + nc) of x (row stride ch). */
static void bn_forward_block(float *base, int32_t xo, int32_t go, int32_t bo, int32_t yo,
                             int32_t mo, int32_t vo, long rows, long ch, long j0, int nc,
                             double eps) {
  double s1[BN_BLOCK], s2[BN_BLOCK], shift[BN_BLOCK];
  float m[BN_BLOCK], a[BN_BLOCK], b[BN_BLOCK];
  const float *restrict x = base + xo + j0;
  float *restrict y = base + yo + j0;
  memset(s1, 0, sizeof(double) * (size_t)nc);
  memset(s2, 0, sizeof(double) * (size_t)nc);
  memset(shift, 0, sizeof(double) * (size_t)nc);
  if (rows > 0) {
    for (int j = 0; j < nc; j++) shift[j] = x[j];
  }
  for (long r = 0; r < rows; r++) {
    const float *restrict xr = x + r * ch;
    for (int j = 0; j < nc; j++) {
      double d = (double)xr[j] - shift[j];
      s1[j] += d;
      s2[j] += d * d;
    }
  }
  for (int j = 0; j < nc; j++) {
    long c = j0 + j;
    double d1 = s1[j] / rows;
    double var = s2[j] / rows - d1 * d1;
    if (var < 0) var = 0;
    double mean = shift[j] + d1;
    double rstd = 1.0 / sqrt(var + eps);
    m[j] = (float)mean;
    a[j] = (float)(base[go + c] * rstd);
    b[j] = base[bo + c];
    base[mo + c] = (float)mean;
    base[vo + c] = (float)var;
  }
  for (long r = 0; r < rows; r++) {
    const float *restrict xr = x + r * ch;
    float *restrict yr = y + r * ch;
    for (int j = 0; j < nc; j++) yr[j] = (xr[j] - m[j]) * a[j] + b[j];
  }
}

/* y, mean, variance of batch norm in training mode (gamma, beta: ch values each). */
void har_bn_train_forward(float *base, int32_t xo, int32_t go, int32_t bo, int32_t yo, int32_t mo,
                          int32_t vo, int32_t rows, int32_t ch, double eps) {
  for (long j0 = 0; j0 < ch; j0 += BN_BLOCK) {
    int nc = ch - j0 < BN_BLOCK ? (int)(ch - j0) : BN_BLOCK;
    bn_forward_block(base, xo, go, bo, yo, mo, vo, rows, ch, j0, nc, eps);
  }
}

/* Backward over channels [j0, j0 + nc) (row stride ch). */
static void bn_backward_block(float *base, int32_t xo, int32_t dyo, int32_t go, int32_t mo,
                              int32_t vo, int32_t dxo, int32_t dgo, int32_t dbo, long rows,
                              long ch, long j0, int nc, double eps) {
  double sdy[BN_BLOCK], sxdy[BN_BLOCK], md[BN_BLOCK];
  float m[BN_BLOCK], A[BN_BLOCK], B[BN_BLOCK], C[BN_BLOCK];
  const float *restrict x = base + xo + j0;
  const float *restrict dy = base + dyo + j0;
  float *restrict dx = base + dxo + j0;
  memset(sdy, 0, sizeof(double) * (size_t)nc);
  memset(sxdy, 0, sizeof(double) * (size_t)nc);
  for (int j = 0; j < nc; j++) md[j] = base[mo + j0 + j];
  for (long r = 0; r < rows; r++) {
    const float *restrict xr = x + r * ch;
    const float *restrict gr = dy + r * ch;
    for (int j = 0; j < nc; j++) {
      double g = gr[j];
      sdy[j] += g;
      sxdy[j] += g * ((double)xr[j] - md[j]);
    }
  }
  for (int j = 0; j < nc; j++) {
    long c = j0 + j;
    double rstd = 1.0 / sqrt((double)base[vo + c] + eps);
    double gr = base[go + c] * rstd;
    /* dx = gr*dy - gr*sdy/M - gr*rstd^2*sxdy/M * (x - mean) */
    m[j] = (float)md[j];
    A[j] = (float)gr;
    B[j] = (float)(-gr * rstd * rstd * sxdy[j] / rows);
    C[j] = (float)(-gr * sdy[j] / rows);
    base[dgo + c] = (float)(sxdy[j] * rstd);
    base[dbo + c] = (float)sdy[j];
  }
  for (long r = 0; r < rows; r++) {
    const float *restrict xr = x + r * ch;
    const float *restrict gr = dy + r * ch;
    float *restrict dr = dx + r * ch;
    for (int j = 0; j < nc; j++) dr[j] = gr[j] * A[j] + (xr[j] - m[j]) * B[j] + C[j];
  }
}

/*
 * dx, dgamma, dbeta of batch norm in training mode (statistics from the
 * batch), given x, dy, gamma and the forward's batch mean and variance.
 */
void har_bn_train_backward(float *base, int32_t xo, int32_t dyo, int32_t go, int32_t mo,
                           int32_t vo, int32_t dxo, int32_t dgo, int32_t dbo, int32_t rows,
                           int32_t ch, double eps) {
  for (long j0 = 0; j0 < ch; j0 += BN_BLOCK) {
    int nc = ch - j0 < BN_BLOCK ? (int)(ch - j0) : BN_BLOCK;
    bn_backward_block(base, xo, dyo, go, mo, vo, dxo, dgo, dbo, rows, ch, j0, nc, eps);
  }
}
