/* irpipe benchmark program: naive and KMP substring search over generated text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static int naive(const char *t, int n, const char *p, int m) {
  int c = 0;
  for (int i = 0; i + m <= n; i++) { int j = 0; while (j < m && t[i + j] == p[j]) j++; c += j == m; }
  return c;
}
static int kmp(const char *t, int n, const char *p, int m, int *fail) {
  fail[0] = -1;
  for (int i = 1, k = -1; i < m; i++) { while (k >= 0 && p[k + 1] != p[i]) k = fail[k]; if (p[k + 1] == p[i]) k++; fail[i] = k; }
  int c = 0;
  for (int i = 0, k = -1; i < n; i++) {
    while (k >= 0 && p[k + 1] != t[i]) k = fail[k];
    if (p[k + 1] == t[i]) k++;
    if (k == m - 1) { c++; k = fail[k]; }
  }
  return c;
}
int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 3000000;
  char *t = malloc(n + 1);
  unsigned s = 1;
  for (int i = 0; i < n; i++) { s = s * 1664525u + 1013904223u; t[i] = "abcab"[(s >> 24) % 5]; }
  t[n] = 0;
  const char *pats[] = {"abcab", "aab", "cabcabca", "bbbb", "abcabcabcab"};
  int fail[64], total = 0;
  for (int k = 0; k < 5; k++) {
    int m = (int)strlen(pats[k]), a = naive(t, n, pats[k], m), b = kmp(t, n, pats[k], m, fail);
    if (a != b) { puts("mismatch"); return 1; }
    total += a;
    printf("%s %d\n", pats[k], a);
  }
  printf("total %d\n", total);
  free(t);
  return 0;
}
