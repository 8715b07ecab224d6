/* irpipe benchmark program: table-driven CRC-32 and Adler-32 over generated data. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
static uint32_t table[256];
static void make_table(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
}
static uint32_t crc32(const uint8_t *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}
static uint32_t adler32(const uint8_t *p, size_t n) {
  uint32_t a = 1, b = 0;
  for (size_t i = 0; i < n; i++) { a = (a + p[i]) % 65521; b = (b + a) % 65521; }
  return (b << 16) | a;
}
int main(int argc, char **argv) {
  size_t n = argc > 1 ? (size_t)atol(argv[1]) : 8u << 20;
  uint8_t *buf = malloc(n);
  uint32_t x = 7;
  for (size_t i = 0; i < n; i++) { x ^= x << 13; x ^= x >> 17; x ^= x << 5; buf[i] = (uint8_t)x; }
  make_table();
  uint32_t c = 0, a = 0;
  for (int r = 0; r < 4; r++) { c ^= crc32(buf + r, n - r); a ^= adler32(buf + r, n - r); }
  printf("crc %08x adler %08x\n", c, a);
  free(buf);
  return 0;
}
