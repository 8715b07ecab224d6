/* Iterative complex radix-2 FFT (double): forward transform of a generated
 * multi-tone signal, spectral peak detection, inverse transform and
 * round-trip check, repeated.
 * Usage: fft [log2n] [reps]   (written for irpipe's benchmark suite) */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
    double re, im;
} cpx;

static uint64_t rng_state = 0x0123456789ABCDEFull;

static uint64_t splitmix64(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double urand(void)
{
    return (double)(splitmix64() >> 11) * (1.0 / 9007199254740992.0);
}

static void bit_reverse(cpx *x, int n, int logn)
{
    for (int i = 0; i < n; i++) {
        unsigned r = 0, v = (unsigned)i;
        for (int b = 0; b < logn; b++) {
            r = (r << 1) | (v & 1u);
            v >>= 1;
        }
        if ((int)r > i) {
            cpx t = x[i];
            x[i] = x[r];
            x[r] = t;
        }
    }
}

/* tw[k] = exp(-2 pi i k / n), k < n/2.  sign = +1 forward, -1 inverse */
static void fft(cpx *x, int n, int logn, const cpx *tw, int sign)
{
    bit_reverse(x, n, logn);
    for (int len = 2; len <= n; len <<= 1) {
        int half = len >> 1;
        int stride = n / len;
        for (int base = 0; base < n; base += len) {
            for (int k = 0; k < half; k++) {
                cpx w = tw[k * stride];
                double wi = sign > 0 ? w.im : -w.im;
                cpx a = x[base + k];
                cpx b = x[base + k + half];
                double tr = b.re * w.re - b.im * wi;
                double ti = b.re * wi + b.im * w.re;
                x[base + k].re = a.re + tr;
                x[base + k].im = a.im + ti;
                x[base + k + half].re = a.re - tr;
                x[base + k + half].im = a.im - ti;
            }
        }
    }
}

int main(int argc, char **argv)
{
    int logn = argc > 1 ? atoi(argv[1]) : 17;
    int reps = argc > 2 ? atoi(argv[2]) : 150;
    if (logn < 4 || logn > 24 || reps < 1) {
        fprintf(stderr, "usage: fft [log2n 4..24] [reps>=1]\n");
        return 1;
    }
    int n = 1 << logn;
    cpx *tw = malloc((size_t)(n / 2) * sizeof *tw);
    cpx *sig = malloc((size_t)n * sizeof *sig);
    cpx *x = malloc((size_t)n * sizeof *x);
    if (!tw || !sig || !x) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    const double two_pi = 6.283185307179586476925286766559;
    for (int k = 0; k < n / 2; k++) {
        double ang = -two_pi * (double)k / (double)n;
        tw[k].re = cos(ang);
        tw[k].im = sin(ang);
    }

    uint64_t peak_hash = 0;
    double energy_total = 0.0, err_max = 0.0, peak_amp_total = 0.0;
    for (int r = 0; r < reps; r++) {
        /* 5 tones at distinct bins with amplitudes 1..5 plus small noise */
        int freq[5];
        for (int t = 0; t < 5; t++) {
            int f;
            int clash;
            do {
                f = 1 + (int)(splitmix64() % (uint64_t)(n / 2 - 2));
                clash = 0;
                for (int u = 0; u < t; u++)
                    if (abs(freq[u] - f) < 3)
                        clash = 1;
            } while (clash);
            freq[t] = f;
        }
        for (int i = 0; i < n; i++) {
            sig[i].re = 0.01 * (urand() - 0.5);
            sig[i].im = 0.01 * (urand() - 0.5);
        }
        for (int t = 0; t < 5; t++) {
            double amp = (double)(t + 1);
            for (int i = 0; i < n; i++) {
                /* exact phase: use the twiddle table, index (f*i) mod n */
                uint64_t idx = ((uint64_t)freq[t] * (uint64_t)i) & (uint64_t)(n - 1);
                double c, s;
                if (idx < (uint64_t)(n / 2)) {
                    c = tw[idx].re;
                    s = -tw[idx].im;
                } else {
                    c = -tw[idx - (uint64_t)(n / 2)].re;
                    s = tw[idx - (uint64_t)(n / 2)].im;
                }
                sig[i].re += amp * c;
                sig[i].im += amp * s;
            }
        }
        for (int i = 0; i < n; i++)
            x[i] = sig[i];

        fft(x, n, logn, tw, +1);

        double energy = 0.0;
        for (int i = 0; i < n; i++)
            energy += x[i].re * x[i].re + x[i].im * x[i].im;
        energy_total += energy / (double)n;

        /* 5 largest bins (the tones stand far above the noise floor) */
        int best[5] = {-1, -1, -1, -1, -1};
        double bmag[5] = {-1, -1, -1, -1, -1};
        for (int i = 0; i < n; i++) {
            double m = x[i].re * x[i].re + x[i].im * x[i].im;
            if (m > bmag[4]) {
                int p = 4;
                while (p > 0 && m > bmag[p - 1]) {
                    bmag[p] = bmag[p - 1];
                    best[p] = best[p - 1];
                    p--;
                }
                bmag[p] = m;
                best[p] = i;
            }
        }
        for (int p = 0; p < 5; p++) {
            peak_hash = peak_hash * 0x100000001B3ull + (uint64_t)best[p];
            peak_amp_total += sqrt(bmag[p]) / (double)n;
        }

        fft(x, n, logn, tw, -1);
        double scale = 1.0 / (double)n;
        for (int i = 0; i < n; i++) {
            double dr = x[i].re * scale - sig[i].re;
            double di = x[i].im * scale - sig[i].im;
            double e = fabs(dr) + fabs(di);
            if (e > err_max)
                err_max = e;
        }
    }
    printf("n=%d reps=%d\n", n, reps);
    printf("peak bin hash %016llx\n", (unsigned long long)peak_hash);
    printf("mean energy per rep %.6e\n", energy_total / (double)reps);
    printf("mean peak amplitude %.6e\n", peak_amp_total / (5.0 * (double)reps));
    printf("round trip %s\n", err_max < 1e-9 ? "ok" : "FAILED");
    free(tw);
    free(sig);
    free(x);
    return 0;
}
