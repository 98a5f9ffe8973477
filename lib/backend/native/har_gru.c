/*
 * The gate arithmetic of one GRU step (PyTorch's torch.nn.GRU equations,
 * gate blocks r | z | n) on the wasm heap, forward and backward, for
 * lib/backend/gru_kernels.ts. Offsets in float32 elements of `base`; the
 * recurrent GEMMs between the steps are the caller's (OpenBLAS on heap
 * offsets). Branch-free loops the compiler vectorises; tanh is the rational
 * approximation of lib/backend/lstm_kernels.ts `fastTanh` in float.
 */
#include <stdint.h>

static inline float har_tanh(float z) {
  float x = z < -9.0f ? -9.0f : (z > 9.0f ? 9.0f : z);
  float t = x * x;
  float p = (((1.3355283036760997e-08f * t + 2.0609514120032224e-05f) * t +
              0.003495613078895269f) * t + 0.13381046038987907f) * t + 0.9999999792249973f;
  float q = (((7.776808701831425e-07f * t + 0.0003285676640658128f) * t +
              0.025877075348606567f) * t + 0.4671436157967755f) * t + 1.0f;
  return x * p / q;
}

static inline float har_sigmoid(float x) { return 0.5f + 0.5f * har_tanh(0.5f * x); }

/*
 * Forward step. xw [batch, 3u]: x_t·W + b; gh [batch, 3u]: h_{t-1}·R (no
 * bias); bh [3u]; hp [batch, u]: h_{t-1}. Writes gates [batch, 3u] (r | z |
 * n activated), hn [batch, u] (h_{t-1}·R_n + b_hn) and ho [batch, u] (h_t).
 */
void har_gru_forward_step(float *base, int32_t xw, int32_t gh, int32_t bh, int32_t hp,
                          int32_t gates, int32_t hn, int32_t ho, int32_t batch, int32_t units) {
  const int32_t u3 = 3 * units;
  const float *B = base + bh;
  for (int32_t b = 0; b < batch; b++) {
    const float *X = base + xw + (int64_t)b * u3, *G = base + gh + (int64_t)b * u3;
    const float *P = base + hp + (int64_t)b * units;
    float *S = base + gates + (int64_t)b * u3, *N = base + hn + (int64_t)b * units;
    float *H = base + ho + (int64_t)b * units;
    for (int32_t u = 0; u < units; u++) {
      float r = har_sigmoid(X[u] + G[u] + B[u]);
      float z = har_sigmoid(X[units + u] + G[units + u] + B[units + u]);
      float hnv = G[2 * units + u] + B[2 * units + u];
      float n = har_tanh(X[2 * units + u] + r * hnv);
      S[u] = r;
      S[units + u] = z;
      S[2 * units + u] = n;
      N[u] = hnv;
      H[u] = n + z * (P[u] - n);
    }
  }
}

/*
 * Backward step. dh [batch, u]: dL/dh_t from the later steps (updated in
 * place); dy [batch, u]: this step's output gradient, added first (dy < 0:
 * none). From the forward's gates, hn and hp (h_{t-1}) writes the
 * pre-activation gradients dgx [batch, 3u] (of x_t·W + b) and dgh [batch, 3u]
 * (of h_{t-1}·R + b_h), and leaves dh = dL/dh_t ⊙ z, the direct part of
 * dL/dh_{t-1} (the caller adds dgh·Rᵀ).
 */
void har_gru_backward_step(float *base, int32_t dy, int32_t dh, int32_t hp, int32_t gates,
                           int32_t hn, int32_t dgx, int32_t dgh, int32_t batch, int32_t units) {
  const int32_t u3 = 3 * units;
  if (dy >= 0) {
    const float *Y = base + dy;
    float *D = base + dh;
    const int64_t m = (int64_t)batch * units;
    for (int64_t i = 0; i < m; i++) D[i] += Y[i];
  }
  for (int32_t b = 0; b < batch; b++) {
    float *D = base + dh + (int64_t)b * units;
    const float *P = base + hp + (int64_t)b * units, *N = base + hn + (int64_t)b * units;
    const float *S = base + gates + (int64_t)b * u3;
    float *GX = base + dgx + (int64_t)b * u3, *GH = base + dgh + (int64_t)b * u3;
    for (int32_t u = 0; u < units; u++) {
      float g = D[u], r = S[u], z = S[units + u], n = S[2 * units + u];
      float dn = g * (1.0f - z) * (1.0f - n * n);
      float dz = g * (P[u] - n) * z * (1.0f - z);
      float dr = dn * N[u] * r * (1.0f - r);
      GX[u] = dr;
      GX[units + u] = dz;
      GX[2 * units + u] = dn;
      GH[u] = dr;
      GH[units + u] = dz;
      GH[2 * units + u] = dn * r;
      D[u] = g * z;
    }
  }
}
