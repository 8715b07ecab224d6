/* Loops whose trip counts only the run knows: a triangle (row i runs i + 1 times) and a search
   that stops at the first zero (its header runs 4 times: 3 steps and the test that stops).
   For irpipe-loops-profile.test. */
#include <stdio.h>

int main(int argc, char **argv) {
  volatile int rows = 10;
  int n = rows, zeros[16] = {3, 1, 4, 0, 5, 9, 0, 2, 6, 0, 0, 0, 0, 0, 0, 0};
  long sum = 0;
  for (int i = 0; i < n; i++)
    for (int j = 0; j <= i; j++)
      sum = sum * 31 + (i ^ j) + argc;
  int k = 0;
  while (zeros[k + (argv[0][0] == 0)] != 0)
    k++;
  printf("%ld %d\n", sum, k);
  return 0;
}
