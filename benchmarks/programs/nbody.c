/* irpipe benchmark program: a small n-body simulation (energy is printed). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#define N 5
typedef struct { double x, y, z, vx, vy, vz, m; } Body;
static double energy(Body *b) {
  double e = 0;
  for (int i = 0; i < N; i++) {
    e += 0.5 * b[i].m * (b[i].vx * b[i].vx + b[i].vy * b[i].vy + b[i].vz * b[i].vz);
    for (int j = i + 1; j < N; j++) {
      double dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
      e -= b[i].m * b[j].m / sqrt(dx * dx + dy * dy + dz * dz);
    }
  }
  return e;
}
static void advance(Body *b, double dt) {
  for (int i = 0; i < N; i++)
    for (int j = i + 1; j < N; j++) {
      double dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
      double d2 = dx * dx + dy * dy + dz * dz, mag = dt / (d2 * sqrt(d2));
      b[i].vx -= dx * b[j].m * mag; b[i].vy -= dy * b[j].m * mag; b[i].vz -= dz * b[j].m * mag;
      b[j].vx += dx * b[i].m * mag; b[j].vy += dy * b[i].m * mag; b[j].vz += dz * b[i].m * mag;
    }
  for (int i = 0; i < N; i++) { b[i].x += dt * b[i].vx; b[i].y += dt * b[i].vy; b[i].z += dt * b[i].vz; }
}
int main(int argc, char **argv) {
  int steps = argc > 1 ? atoi(argv[1]) : 600000;
  Body b[N];
  for (int i = 0; i < N; i++) {
    b[i] = (Body){i * 1.1, i * -0.7, i * 0.3, 0.01 * i, -0.02 * i, 0.005 * i, 1.0 / (i + 1)};
  }
  b[0].m = 39.47;
  printf("%.9f\n", energy(b));
  for (int s = 0; s < steps; s++) advance(b, 0.001);
  printf("%.9f\n", energy(b));
  return 0;
}
