#include <stdio.h>
double dot(const double *, const double *, int);
unsigned hash(const char *);
int main(void) {
  double a[3] = {1, 2, 3}, b[3] = {4, 5, 6};
  printf("%g %u\n", dot(a, b, 3), hash("irpipe"));
  return 0;
}
