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
 * `cc -O3 -march=native`; the JS fallback (lib/models/batchnorm.ts) computes
 * the same formulas.
 *
 * Forward, per channel j over the M = rows values:
 *   mean = sum(x) / M, var = sum((x - mean)^2) / M (biased, as tf.moments),
 *   y = (x - mean) * gamma * rstd + beta,  rstd = 1 / sqrt(var + eps).
 * Backward, with xhat = (x - mean) * rstd:
 *   dbeta = sum(dy), dgamma = sum(dy * xhat),
 *   dx = gamma * rstd / M * (M * dy - dbeta - xhat * dgamma).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

/* Scratch for `n` doubles, zeroed; NULL when out of memory. */
static double *zeroed(long n) { return (double *)calloc((size_t)(n > 0 ? n : 1), sizeof(double)); }

/*
 * y, mean, variance of batch norm in training mode. gamma/beta offsets < 0:
 * scale 1 / offset 0. Returns 0, or -1 when scratch memory ran out (outputs
 * untouched).
 */
int32_t har_bn_train_forward(float *base, int32_t xo, int32_t go, int32_t bo, int32_t yo,
                             int32_t mo, int32_t vo, int32_t rows, int32_t ch, double eps) {
  const float *restrict x = base + xo;
  float *restrict y = base + yo;
  double *acc = zeroed(3L * ch);
  float *coef = (float *)malloc(sizeof(float) * 3 * (size_t)(ch > 0 ? ch : 1));
  if (!acc || !coef) {
    free(acc);
    free(coef);
    return -1;
  }
  double *restrict s1 = acc, *restrict s2 = acc + ch, *restrict shift = acc + 2L * ch;
  if (rows > 0) {
    for (int j = 0; j < ch; j++) shift[j] = x[j];
  }
  for (long r = 0; r < rows; r++) {
    const float *restrict xr = x + r * ch;
    for (int j = 0; j < ch; j++) {
      double d = (double)xr[j] - shift[j];
      s1[j] += d;
      s2[j] += d * d;
    }
  }
  float *restrict m = coef, *restrict a = coef + ch, *restrict b = coef + 2L * ch;
  for (int j = 0; j < ch; j++) {
    double d1 = s1[j] / rows;
    double var = s2[j] / rows - d1 * d1;
    if (var < 0) var = 0;
    double mean = shift[j] + d1;
    double rstd = 1.0 / sqrt(var + eps);
    double g = go < 0 ? 1.0 : base[go + j];
    m[j] = (float)mean;
    a[j] = (float)(g * rstd);
    b[j] = bo < 0 ? 0.0f : base[bo + j];
    base[mo + j] = (float)mean;
    base[vo + j] = (float)var;
  }
  for (long r = 0; r < rows; r++) {
    const float *restrict xr = x + r * ch;
    float *restrict yr = y + r * ch;
    for (int j = 0; j < ch; j++) yr[j] = (xr[j] - m[j]) * a[j] + b[j];
  }
  free(acc);
  free(coef);
  return 0;
}

/*
 * dx, dgamma, dbeta of batch norm in training mode (statistics from the
 * batch), given x, dy, gamma (offset < 0: scale 1) and the forward's batch
 * mean and variance. Returns 0, or -1 when scratch memory ran out.
 */
int32_t har_bn_train_backward(float *base, int32_t xo, int32_t dyo, int32_t go, int32_t mo,
                              int32_t vo, int32_t dxo, int32_t dgo, int32_t dbo, int32_t rows,
                              int32_t ch, double eps) {
  const float *restrict x = base + xo;
  const float *restrict dy = base + dyo;
  float *restrict dx = base + dxo;
  double *acc = zeroed(3L * ch);
  float *coef = (float *)malloc(sizeof(float) * 4 * (size_t)(ch > 0 ? ch : 1));
  if (!acc || !coef) {
    free(acc);
    free(coef);
    return -1;
  }
  double *restrict sdy = acc, *restrict sxdy = acc + ch, *restrict md = acc + 2L * ch;
  for (int j = 0; j < ch; j++) md[j] = base[mo + j];
  for (long r = 0; r < rows; r++) {
    const float *restrict xr = x + r * ch;
    const float *restrict gr = dy + r * ch;
    for (int j = 0; j < ch; j++) {
      double g = gr[j];
      sdy[j] += g;
      sxdy[j] += g * ((double)xr[j] - md[j]);
    }
  }
  float *restrict m = coef, *restrict A = coef + ch, *restrict B = coef + 2L * ch,
                  *restrict C = coef + 3L * ch;
  for (int j = 0; j < ch; j++) {
    double rstd = 1.0 / sqrt((double)base[vo + j] + eps);
    double g = go < 0 ? 1.0 : base[go + j];
    double gr = g * rstd;
    /* dx = gr*dy - gr*sdy/M - gr*rstd^2*sxdy/M * (x - mean) */
    m[j] = base[mo + j];
    A[j] = (float)gr;
    B[j] = (float)(-gr * rstd * rstd * sxdy[j] / rows);
    C[j] = (float)(-gr * sdy[j] / rows);
    base[dgo + j] = (float)(sxdy[j] * rstd);
    base[dbo + j] = (float)sdy[j];
  }
  for (long r = 0; r < rows; r++) {
    const float *restrict xr = x + r * ch;
    const float *restrict gr = dy + r * ch;
    float *restrict dr = dx + r * ch;
    for (int j = 0; j < ch; j++) dr[j] = gr[j] * A[j] + (xr[j] - m[j]) * B[j] + C[j];
  }
  free(acc);
  free(coef);
  return 0;
}
