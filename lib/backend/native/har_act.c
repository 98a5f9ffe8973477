/*
 * Elementwise activation gradients on the wasm heap (offsets in float32
 * elements). Loops the compiler vectorises with masks (no branches).
 */
#include <stdint.h>

/* dx = x > 0 ? dy : 0, NaN where x is NaN (as tfjs's dy * step(x)). */
void har_relu_grad(float *base, int32_t dy, int32_t x, int32_t dx, int32_t n) {
  const float *X = base + x, *G = base + dy;
  float *O = base + dx;
  for (int32_t i = 0; i < n; i++) {
    float v = X[i];
    O[i] = v > 0 ? G[i] : (v != v ? v : 0.0f);
  }
}
