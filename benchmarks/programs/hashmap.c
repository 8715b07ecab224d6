/* irpipe benchmark program: an open-addressing hash map with inserts, lookups, deletes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
typedef struct { uint64_t key; uint64_t value; int used; } Slot;
static uint64_t mix(uint64_t k) { k ^= k >> 33; k *= 0xff51afd7ed558ccdULL; k ^= k >> 33; return k; }
int main(int argc, char **argv) {
  size_t n = argc > 1 ? (size_t)atol(argv[1]) : 600000, cap = 1;
  while (cap < 2 * n) cap <<= 1;
  Slot *t = calloc(cap, sizeof(Slot));
  uint64_t x = 88172645463325252ULL, hits = 0, sum = 0;
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    uint64_t k = x % (n * 4), h = mix(k) & (cap - 1);
    while (t[h].used && t[h].key != k) h = (h + 1) & (cap - 1);
    t[h].key = k; t[h].value += i; t[h].used = 1;
  }
  for (uint64_t k = 0; k < n * 4; k += 3) {
    uint64_t h = mix(k) & (cap - 1);
    while (t[h].used) { if (t[h].key == k) { hits++; sum += t[h].value; break; } h = (h + 1) & (cap - 1); }
  }
  printf("hits %llu sum %llu\n", (unsigned long long)hits, (unsigned long long)sum);
  free(t);
  return 0;
}
