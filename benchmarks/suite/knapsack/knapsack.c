/* Dynamic programming on generated instances: 0/1 knapsack (best value with
 * a one-dimensional table, plus a bit table to recover the chosen items),
 * bounded knapsack by binary splitting, and coin change (minimum number of
 * coins and number of ways modulo a prime).
 * Usage: knapsack [capacity] [instances]   (written for irpipe's benchmark suite) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MODP 1000000007u

static uint64_t st = 0x6A09E667F3BCC909ull;

static uint32_t rnd(void)
{
    /* 64-bit LCG, high bits out */
    st = st * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(st >> 33);
}

typedef struct {
    int w, v;
} item_t;

/* 0/1 knapsack: best value; keep[i] bit row marks where item i improved */
static int64_t knap01(const item_t *it, int n, int cap, int64_t *dp, uint8_t *keep,
                      int *chosen, int *nchosen)
{
    size_t rowbytes = ((size_t)cap + 8) / 8;
    memset(dp, 0, ((size_t)cap + 1) * sizeof *dp);
    memset(keep, 0, (size_t)n * rowbytes);
    for (int i = 0; i < n; i++) {
        int w = it[i].w;
        int64_t v = it[i].v;
        uint8_t *kr = keep + (size_t)i * rowbytes;
        for (int c = cap; c >= w; c--) {
            int64_t t = dp[c - w] + v;
            if (t > dp[c]) {
                dp[c] = t;
                kr[c >> 3] |= (uint8_t)(1u << (c & 7));
            }
        }
    }
    /* recover the item set */
    int c = cap, k = 0;
    for (int i = n - 1; i >= 0; i--) {
        const uint8_t *kr = keep + (size_t)i * rowbytes;
        if (kr[c >> 3] & (1u << (c & 7))) {
            chosen[k++] = i;
            c -= it[i].w;
        }
    }
    *nchosen = k;
    return dp[cap];
}

/* bounded knapsack: item i may be used up to cnt[i] times (binary split) */
static int64_t knap_bounded(const item_t *it, const int *cnt, int n, int cap, int64_t *dp)
{
    memset(dp, 0, ((size_t)cap + 1) * sizeof *dp);
    for (int i = 0; i < n; i++) {
        int left = cnt[i];
        for (int part = 1; left > 0; part <<= 1) {
            int m = part < left ? part : left;
            left -= m;
            int w = it[i].w * m;
            int64_t v = (int64_t)it[i].v * m;
            for (int c = cap; c >= w; c--) {
                int64_t t = dp[c - w] + v;
                if (t > dp[c])
                    dp[c] = t;
            }
        }
    }
    return dp[cap];
}

/* coin change: min coins for every amount, and ways mod p for the target */
static void coins(const int *coin, int nc, int target, int32_t *minc, uint32_t *ways,
                  int *min_target, uint32_t *ways_target, long *reachable)
{
    const int32_t BIG = 0x3FFFFFFF;
    minc[0] = 0;
    for (int a = 1; a <= target; a++)
        minc[a] = BIG;
    for (int k = 0; k < nc; k++) {
        int c = coin[k];
        for (int a = c; a <= target; a++) {
            int32_t t = minc[a - c] + 1;
            if (t < minc[a])
                minc[a] = t;
        }
    }
    memset(ways, 0, ((size_t)target + 1) * sizeof *ways);
    ways[0] = 1;
    for (int k = 0; k < nc; k++) {
        int c = coin[k];
        for (int a = c; a <= target; a++) {
            uint32_t t = ways[a] + ways[a - c];
            ways[a] = t >= MODP ? t - MODP : t;
        }
    }
    long r = 0;
    for (int a = 0; a <= target; a++)
        r += minc[a] < BIG;
    *reachable = r;
    *min_target = minc[target] < BIG ? minc[target] : -1;
    *ways_target = ways[target];
}

int main(int argc, char **argv)
{
    int cap = argc > 1 ? atoi(argv[1]) : 50000;
    int inst = argc > 2 ? atoi(argv[2]) : 4;
    if (cap < 100)
        cap = 100;
    if (inst < 1)
        inst = 1;
    int nitems = 400;
    size_t rowbytes = ((size_t)cap + 8) / 8;
    int target = cap * 8;

    item_t *it = malloc((size_t)nitems * sizeof *it);
    int *cnt = malloc((size_t)nitems * sizeof *cnt);
    int *chosen = malloc((size_t)nitems * sizeof *chosen);
    int64_t *dp = malloc(((size_t)cap + 1) * sizeof *dp);
    uint8_t *keep = malloc((size_t)nitems * rowbytes);
    int32_t *minc = malloc(((size_t)target + 1) * sizeof *minc);
    uint32_t *ways = malloc(((size_t)target + 1) * sizeof *ways);
    if (!it || !cnt || !chosen || !dp || !keep || !minc || !ways) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }

    uint64_t chk = 0xCBF29CE484222325ull;
    int64_t sum_best = 0, sum_bounded = 0;
    long sum_items = 0, sum_minc = 0, sum_reach = 0;
    uint32_t ways_x = 0;
    int bad = 0;
    for (int r = 0; r < inst; r++) {
        /* items: weights spread around cap/40, values correlated with weight */
        int wmax = cap / 20 + 10;
        for (int i = 0; i < nitems; i++) {
            int w = (int)(rnd() % (uint32_t)wmax) + 1;
            int v = w + (int)(rnd() % (uint32_t)(wmax / 2 + 1)) + (r % 2 ? w / 3 : 0);
            it[i].w = w;
            it[i].v = v;
            cnt[i] = (int)(rnd() % 5u) + 1;
        }
        int nch = 0;
        int64_t best = knap01(it, nitems, cap, dp, keep, chosen, &nch);
        int64_t vsum = 0, wsum = 0;
        for (int k = 0; k < nch; k++) {
            vsum += it[chosen[k]].v;
            wsum += it[chosen[k]].w;
            chk = (chk ^ (uint64_t)chosen[k]) * 0x100000001B3ull;
        }
        int64_t bbest = knap_bounded(it, cnt, nitems / 4, cap, dp);

        int coin[12];
        int nc = 6 + r % 6;
        for (int k = 0; k < nc; k++)
            coin[k] = (int)(rnd() % 997u) + 3 + 7 * k;
        int mt;
        uint32_t wt;
        long reach;
        coins(coin, nc, target, minc, ways, &mt, &wt, &reach);

        if (vsum != best || wsum > cap)
            bad++;
        sum_best += best;
        sum_bounded += bbest;
        sum_items += nch;
        sum_minc += mt;
        sum_reach += reach;
        ways_x ^= wt;
        chk = (chk ^ (uint64_t)best) * 0x100000001B3ull;
        chk = (chk ^ (uint64_t)bbest) * 0x100000001B3ull;
        chk = (chk ^ wt) * 0x100000001B3ull;
    }
    printf("knapsack capacity %d, %d items, %d instances\n", cap, nitems, inst);
    printf("0/1 best values: %lld, items chosen %ld, bad selections %d\n", (long long)sum_best,
           sum_items, bad);
    printf("bounded best values: %lld\n", (long long)sum_bounded);
    printf("coin change: min coins %ld, reachable %ld, ways xor %u\n", sum_minc, sum_reach,
           ways_x);
    printf("checksum: %016llx\n", (unsigned long long)chk);
    free(it); free(cnt); free(chosen); free(dp); free(keep); free(minc); free(ways);
    return 0;
}
