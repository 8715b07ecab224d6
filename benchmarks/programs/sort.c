/* irpipe benchmark program: quicksort and merge sort of pseudo-random integers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static unsigned rng = 12345u;
static unsigned next(void) { rng = rng * 1103515245u + 12345u; return rng >> 1; }
static void quick(int *a, int lo, int hi) {
  while (lo < hi) {
    int p = a[(lo + hi) / 2], i = lo, j = hi;
    while (i <= j) {
      while (a[i] < p) i++;
      while (a[j] > p) j--;
      if (i <= j) { int t = a[i]; a[i] = a[j]; a[j] = t; i++; j--; }
    }
    if (j - lo < hi - i) { quick(a, lo, j); lo = i; } else { quick(a, i, hi); hi = j; }
  }
}
static void merge_sort(int *a, int *tmp, int n) {
  for (int w = 1; w < n; w *= 2)
    for (int lo = 0; lo < n; lo += 2 * w) {
      int mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
      int i = lo, j = mid, k = lo;
      while (i < mid && j < hi) tmp[k++] = a[i] <= a[j] ? a[i++] : a[j++];
      while (i < mid) tmp[k++] = a[i++];
      while (j < hi) tmp[k++] = a[j++];
      memcpy(a + lo, tmp + lo, (size_t)(hi - lo) * sizeof(int));
    }
}
int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 400000;
  int *a = malloc(n * sizeof(int)), *b = malloc(n * sizeof(int)), *t = malloc(n * sizeof(int));
  for (int i = 0; i < n; i++) a[i] = b[i] = (int)(next() % 1000000);
  quick(a, 0, n - 1);
  merge_sort(b, t, n);
  unsigned long sum = 0;
  for (int i = 0; i < n; i++) { if (a[i] != b[i]) { puts("mismatch"); return 1; } sum = sum * 31 + (unsigned)a[i]; }
  printf("sorted %d checksum %lu\n", n, sum);
  free(a); free(b); free(t);
  return 0;
}
