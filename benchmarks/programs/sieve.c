/* irpipe benchmark program: sieve of Eratosthenes and prime gaps. */
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 6000000;
  unsigned char *composite = calloc((size_t)n + 1, 1);
  for (long i = 2; i * i <= n; i++)
    if (!composite[i])
      for (long j = i * i; j <= n; j += i) composite[j] = 1;
  int count = 0, last = 2, gap = 0;
  for (int i = 2; i <= n; i++)
    if (!composite[i]) { count++; if (i - last > gap) gap = i - last; last = i; }
  printf("primes %d largest gap %d last %d\n", count, gap, last);
  free(composite);
  return 0;
}
