/* All-pairs shortest paths with the Floyd-Warshall algorithm on generated
 * sparse directed graphs with integer weights: a plain distance pass, a pass
 * that also records successors for path reconstruction, and a blocked
 * (tiled) variant whose results are cross-checked.
 * Usage: floydwarshall [n] [graphs]   (written for irpipe's benchmark suite) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INF 0x1FFFFFFF /* INF + INF still fits in int32 */
#define TILE 32

static uint64_t rs = 0xD1B54A32D192ED03ull;

static uint32_t rnd(void)
{
    rs ^= rs >> 12;
    rs ^= rs << 25;
    rs ^= rs >> 27;
    return (uint32_t)((rs * 0x2545F4914F6CDD1Dull) >> 32);
}

static void gen_graph(int32_t *d, int n, int degree, int maxw)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            d[(size_t)i * n + j] = i == j ? 0 : INF;
    for (int i = 0; i < n; i++) {
        /* a few random out-edges; a ring over most nodes keeps the graph
         * mostly connected, while the last few nodes are sinks */
        if (i + 1 < n - n / 50)
            d[(size_t)i * n + i + 1] = (int32_t)(rnd() % (uint32_t)maxw) + maxw / 2;
        for (int k = 0; k < degree; k++) {
            int j = (int)(rnd() % (uint32_t)n);
            if (j == i)
                continue;
            int32_t w = (int32_t)(rnd() % (uint32_t)maxw) + 1;
            if (w < d[(size_t)i * n + j])
                d[(size_t)i * n + j] = w;
        }
    }
    /* sinks: no out-edges */
    for (int i = n - n / 50; i < n; i++)
        for (int j = 0; j < n; j++)
            if (j != i)
                d[(size_t)i * n + j] = INF;
}

static void fw_plain(int32_t *d, int n)
{
    for (int k = 0; k < n; k++) {
        const int32_t *dk = d + (size_t)k * n;
        for (int i = 0; i < n; i++) {
            int32_t *di = d + (size_t)i * n;
            int32_t dik = di[k];
            if (dik >= INF)
                continue;
            for (int j = 0; j < n; j++) {
                int32_t c = dik + dk[j];
                di[j] = c < di[j] ? c : di[j];
            }
        }
    }
}

/* with successor matrix: nx[i][j] = first hop on a shortest i->j path */
static void fw_next(int32_t *d, int32_t *nx, int n)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            nx[(size_t)i * n + j] = d[(size_t)i * n + j] < INF ? j : -1;
    for (int k = 0; k < n; k++) {
        const int32_t *dk = d + (size_t)k * n;
        for (int i = 0; i < n; i++) {
            int32_t *di = d + (size_t)i * n;
            int32_t *ni = nx + (size_t)i * n;
            int32_t dik = di[k];
            if (dik >= INF)
                continue;
            int32_t nik = ni[k];
            for (int j = 0; j < n; j++) {
                int32_t c = dik + dk[j];
                if (c < di[j]) {
                    di[j] = c;
                    ni[j] = nik;
                }
            }
        }
    }
}

static void tile_update(int32_t *d, int n, int bi, int bj, int bk)
{
    int i1 = bi + TILE < n ? bi + TILE : n;
    int j1 = bj + TILE < n ? bj + TILE : n;
    int k1 = bk + TILE < n ? bk + TILE : n;
    for (int k = bk; k < k1; k++) {
        const int32_t *dk = d + (size_t)k * n;
        for (int i = bi; i < i1; i++) {
            int32_t *di = d + (size_t)i * n;
            int32_t dik = di[k];
            for (int j = bj; j < j1; j++) {
                int32_t c = dik + dk[j];
                di[j] = c < di[j] ? c : di[j];
            }
        }
    }
}

/* blocked Floyd-Warshall (dependent diagonal tile, then its row and
 * column, then the remaining tiles) */
static void fw_blocked(int32_t *d, int n)
{
    for (int bk = 0; bk < n; bk += TILE) {
        tile_update(d, n, bk, bk, bk);
        for (int bj = 0; bj < n; bj += TILE)
            if (bj != bk)
                tile_update(d, n, bk, bj, bk);
        for (int bi = 0; bi < n; bi += TILE)
            if (bi != bk)
                tile_update(d, n, bi, bk, bk);
        for (int bi = 0; bi < n; bi += TILE) {
            if (bi == bk)
                continue;
            for (int bj = 0; bj < n; bj += TILE)
                if (bj != bk)
                    tile_update(d, n, bi, bj, bk);
        }
    }
    /* saturate unreachable entries (sums of INF may exceed INF) */
    for (size_t i = 0; i < (size_t)n * n; i++)
        if (d[i] > INF)
            d[i] = INF;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 512;
    int graphs = argc > 2 ? atoi(argv[2]) : 3;
    if (n < 8)
        n = 8;
    if (graphs < 1)
        graphs = 1;
    size_t nn = (size_t)n * n;
    int32_t *g = malloc(nn * sizeof *g);
    int32_t *d1 = malloc(nn * sizeof *d1);
    int32_t *d2 = malloc(nn * sizeof *d2);
    int32_t *d3 = malloc(nn * sizeof *d3);
    int32_t *nx = malloc(nn * sizeof *nx);
    if (!g || !d1 || !d2 || !d3 || !nx) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }

    for (int gi = 0; gi < graphs; gi++) {
        gen_graph(g, n, 3 + gi % 3, 100 + 50 * gi);
        memcpy(d1, g, nn * sizeof *g);
        memcpy(d2, g, nn * sizeof *g);
        memcpy(d3, g, nn * sizeof *g);
        fw_plain(d1, n);
        fw_next(d2, nx, n);
        fw_blocked(d3, n);

        int mismatch = 0;
        uint64_t sum = 0, chk = 0xCBF29CE484222325ull;
        long unreach = 0;
        int32_t diam = 0;
        for (size_t i = 0; i < nn; i++) {
            if (d1[i] != d2[i] || d1[i] != d3[i])
                mismatch++;
            if (d1[i] >= INF) {
                unreach++;
            } else {
                sum += (uint64_t)d1[i];
                if (d1[i] > diam)
                    diam = d1[i];
            }
            chk = (chk ^ (uint32_t)d1[i]) * 0x100000001B3ull;
        }
        /* reconstruct some paths and check their lengths */
        long hops = 0;
        int bad_paths = 0;
        for (int q = 0; q < 4096; q++) {
            int s = (int)(rnd() % (uint32_t)n), t = (int)(rnd() % (uint32_t)n);
            if (d2[(size_t)s * n + t] >= INF)
                continue;
            int u = s;
            int64_t len = 0;
            int steps = 0;
            while (u != t && steps <= n) {
                int v = nx[(size_t)u * n + t];
                len += g[(size_t)u * n + v];
                u = v;
                steps++;
            }
            hops += steps;
            if (u != t || len != d2[(size_t)s * n + t])
                bad_paths++;
        }
        printf("graph %d: sum %llu unreachable %ld diameter %d hops %ld mismatches %d bad paths %d "
               "checksum %016llx\n",
               gi, (unsigned long long)sum, unreach, (int)diam, hops, mismatch, bad_paths,
               (unsigned long long)chk);
    }
    free(g); free(d1); free(d2); free(d3); free(nx);
    return 0;
}
