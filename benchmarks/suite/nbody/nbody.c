/* Direct O(n^2) gravitational n-body simulation (double) with Plummer
 * softening and a kick-drift-kick leapfrog integrator; reports energies,
 * momentum and centre of mass of a generated cluster.
 * Usage: nbody [bodies] [steps]   (written for irpipe's benchmark suite) */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t rs = 0x6A09E667F3BCC908ull;

static double urand(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (double)(rs >> 11) * (1.0 / 9007199254740992.0);
}

typedef struct {
    double *x, *y, *z, *vx, *vy, *vz, *ax, *ay, *az, *m;
} bodies;

static void accel(bodies *b, int n, double eps2)
{
    for (int i = 0; i < n; i++) {
        double xi = b->x[i], yi = b->y[i], zi = b->z[i];
        double ax = 0.0, ay = 0.0, az = 0.0;
        for (int j = 0; j < n; j++) {
            double dx = b->x[j] - xi;
            double dy = b->y[j] - yi;
            double dz = b->z[j] - zi;
            double r2 = dx * dx + dy * dy + dz * dz + eps2;
            double inv = 1.0 / sqrt(r2);
            double s = b->m[j] * inv * inv * inv;
            ax += s * dx;
            ay += s * dy;
            az += s * dz;
        }
        b->ax[i] = ax;
        b->ay[i] = ay;
        b->az[i] = az;
    }
}

static void energy(const bodies *b, int n, double eps2, double *ke, double *pe)
{
    double k = 0.0, p = 0.0;
    for (int i = 0; i < n; i++) {
        k += 0.5 * b->m[i] *
             (b->vx[i] * b->vx[i] + b->vy[i] * b->vy[i] + b->vz[i] * b->vz[i]);
        double pi = 0.0;
        for (int j = i + 1; j < n; j++) {
            double dx = b->x[j] - b->x[i];
            double dy = b->y[j] - b->y[i];
            double dz = b->z[j] - b->z[i];
            pi += b->m[j] / sqrt(dx * dx + dy * dy + dz * dz + eps2);
        }
        p -= b->m[i] * pi;
    }
    *ke = k;
    *pe = p;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2000;
    int steps = argc > 2 ? atoi(argv[2]) : 80;
    if (n < 2 || n > 100000 || steps < 1) {
        fprintf(stderr, "usage: nbody [bodies 2..100000] [steps>=1]\n");
        return 1;
    }
    bodies b;
    double **fields[] = {&b.x, &b.y, &b.z, &b.vx, &b.vy,
                         &b.vz, &b.ax, &b.ay, &b.az, &b.m};
    for (int f = 0; f < 10; f++) {
        *fields[f] = malloc((size_t)n * sizeof(double));
        if (!*fields[f]) {
            fprintf(stderr, "out of memory\n");
            return 1;
        }
    }
    /* uniform ball of radius 1, slow rotation plus random velocities */
    double mtot = 0.0;
    for (int i = 0; i < n; i++) {
        double x, y, z;
        do {
            x = 2.0 * urand() - 1.0;
            y = 2.0 * urand() - 1.0;
            z = 2.0 * urand() - 1.0;
        } while (x * x + y * y + z * z > 1.0);
        b.x[i] = x;
        b.y[i] = y;
        b.z[i] = z;
        b.vx[i] = -0.3 * y + 0.1 * (urand() - 0.5);
        b.vy[i] = 0.3 * x + 0.1 * (urand() - 0.5);
        b.vz[i] = 0.1 * (urand() - 0.5);
        b.m[i] = (0.5 + urand()) / (double)n;
        mtot += b.m[i];
    }
    /* move to the centre-of-momentum frame */
    double mvx = 0.0, mvy = 0.0, mvz = 0.0;
    for (int i = 0; i < n; i++) {
        mvx += b.m[i] * b.vx[i];
        mvy += b.m[i] * b.vy[i];
        mvz += b.m[i] * b.vz[i];
    }
    for (int i = 0; i < n; i++) {
        b.vx[i] -= mvx / mtot;
        b.vy[i] -= mvy / mtot;
        b.vz[i] -= mvz / mtot;
    }
    const double eps2 = 0.01 * 0.01 * 4.0;
    const double dt = 0.001;

    double ke0, pe0;
    energy(&b, n, eps2, &ke0, &pe0);
    accel(&b, n, eps2);
    for (int s = 0; s < steps; s++) {
        for (int i = 0; i < n; i++) {
            b.vx[i] += 0.5 * dt * b.ax[i];
            b.vy[i] += 0.5 * dt * b.ay[i];
            b.vz[i] += 0.5 * dt * b.az[i];
            b.x[i] += dt * b.vx[i];
            b.y[i] += dt * b.vy[i];
            b.z[i] += dt * b.vz[i];
        }
        accel(&b, n, eps2);
        for (int i = 0; i < n; i++) {
            b.vx[i] += 0.5 * dt * b.ax[i];
            b.vy[i] += 0.5 * dt * b.ay[i];
            b.vz[i] += 0.5 * dt * b.az[i];
        }
    }
    double ke1, pe1;
    energy(&b, n, eps2, &ke1, &pe1);
    double px = 0, py = 0, pz = 0, cx = 0, cy = 0, cz = 0, lz = 0;
    for (int i = 0; i < n; i++) {
        px += b.m[i] * b.vx[i];
        py += b.m[i] * b.vy[i];
        pz += b.m[i] * b.vz[i];
        cx += b.m[i] * b.x[i];
        cy += b.m[i] * b.y[i];
        cz += b.m[i] * b.z[i];
        lz += b.m[i] * (b.x[i] * b.vy[i] - b.y[i] * b.vx[i]);
    }
    double drift = fabs((ke1 + pe1) - (ke0 + pe0)) / fabs(ke0 + pe0);
    printf("bodies %d steps %d total mass %.6e\n", n, steps, mtot);
    printf("initial energy %.5e (kinetic %.5e potential %.5e)\n", ke0 + pe0,
           ke0, pe0);
    printf("final energy   %.5e (kinetic %.5e potential %.5e)\n", ke1 + pe1,
           ke1, pe1);
    printf("relative energy drift below 1e-3: %s\n", drift < 1e-3 ? "yes" : "no");
    printf("net momentum below 1e-9: %s\n",
           sqrt(px * px + py * py + pz * pz) < 1e-9 ? "yes" : "no");
    printf("centre of mass %.5f %.5f %.5f\n", cx / mtot, cy / mtot, cz / mtot);
    printf("angular momentum z %.5e\n", lz);
    for (int f = 0; f < 10; f++)
        free(*fields[f]);
    return 0;
}
