// Loop shapes for the per-loop advice tests (irpipe-loops-print.ll,
// irpipe-apply-loops-clang.test).  Its output must not change with the advice.
#include <stdio.h>

#define N 512

// scale/L0: a constant trip count, no reduction.
__attribute__((noinline)) void scale(float *restrict a, const float *restrict b) {
  for (int i = 0; i < N; i++)
    a[i] = b[i] * 2.0f;
}

// dot/L0: a strict (non-reassociable) FP reduction.
__attribute__((noinline)) float dot(int n, const float *a, const float *b) {
  float s = 0;
  for (int i = 0; i < n; i++)
    s += a[i] * b[i];
  return s;
}

// isum/L0: an integer reduction.
__attribute__((noinline)) int isum(int n, const int *a) {
  int s = 0;
  for (int i = 0; i < n; i++)
    s += a[i] ^ (i * 7);
  return s;
}

// mm/L0, mm/L0.0: a nest for unroll-and-jam.
__attribute__((noinline)) void mm(int n, int *restrict c, const int *restrict a, const int *restrict b) {
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++)
      c[i] += a[i * n + j] * b[j];
}

// split/L0: a recurrence through memory next to a vectorizable stream (distribution).
__attribute__((noinline)) void split(int n, int *restrict x, int *restrict y,
                                     const int *restrict z, const int *restrict w) {
  for (int i = 0; i < n; i++) {
    x[i + 3] = x[i] * 3 + z[i];
    y[i] = w[i] * 5;
  }
}

static float fa[N], fb[N];
static int ia[N * N / 16], ib[N], ic[N], ix[N + 3], iy[N];

int main(void) {
  for (int i = 0; i < N; i++) {
    fb[i] = (float)(i % 17) * 0.37f - 1.25f;
    ib[i] = (i * 2654435761u) >> 20;
    ix[i] = i;
  }
  for (int i = 0; i < N * N / 16; i++)
    ia[i] = (i * 40503u) >> 7;
  scale(fa, fb);
  float d = dot(N, fa, fb);
  int s = isum(N, ib);
  mm(N / 4, ic, ia, ib);
  split(N, ix, iy, ib, ic);
  long t = 0;
  for (int i = 0; i < N; i++)
    t += ic[i] + ix[i] + iy[i];
  printf("dot %a isum %d mm+split %ld\n", d, s, t);
  return 0;
}
