/* Graph search on a generated sparse directed graph in CSR form: BFS hop
 * distances and Dijkstra shortest paths with an indexed binary min-heap
 * (decrease-key), from several sources.
 * Usage: dijkstra [nodes] [sources]   (written for irpipe's benchmark suite) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t rs = 0x1F2E3D4C5B6A7988ull;

static uint32_t rnd(uint32_t n)
{
    rs = rs * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)((rs >> 33) % n);
}

typedef struct {
    int n;
    int *off;     /* n+1 */
    int *dst;     /* m */
    uint32_t *w;  /* m */
} graph;

/* ---- indexed binary heap keyed by dist[] ---- */
typedef struct {
    int *heap;  /* heap of node ids */
    int *where; /* position of node in heap, -1 if absent */
    int size;
    const uint64_t *key;
} iheap;

static void sift_up(iheap *h, int i)
{
    int v = h->heap[i];
    uint64_t kv = h->key[v];
    while (i > 0) {
        int p = (i - 1) / 2;
        int pv = h->heap[p];
        if (h->key[pv] <= kv)
            break;
        h->heap[i] = pv;
        h->where[pv] = i;
        i = p;
    }
    h->heap[i] = v;
    h->where[v] = i;
}

static void sift_down(iheap *h, int i)
{
    int v = h->heap[i];
    uint64_t kv = h->key[v];
    for (;;) {
        int c = 2 * i + 1;
        if (c >= h->size)
            break;
        if (c + 1 < h->size && h->key[h->heap[c + 1]] < h->key[h->heap[c]])
            c++;
        int cv = h->heap[c];
        if (h->key[cv] >= kv)
            break;
        h->heap[i] = cv;
        h->where[cv] = i;
        i = c;
    }
    h->heap[i] = v;
    h->where[v] = i;
}

static void push_or_decrease(iheap *h, int v)
{
    if (h->where[v] < 0) {
        h->heap[h->size] = v;
        h->where[v] = h->size;
        h->size++;
    }
    sift_up(h, h->where[v]);
}

static int pop_min(iheap *h)
{
    int v = h->heap[0];
    h->where[v] = -1;
    h->size--;
    if (h->size > 0) {
        h->heap[0] = h->heap[h->size];
        h->where[h->heap[0]] = 0;
        sift_down(h, 0);
    }
    return v;
}

static const uint64_t INF = ~(uint64_t)0;

static void dijkstra(const graph *g, int src, uint64_t *dist, iheap *h)
{
    for (int i = 0; i < g->n; i++) {
        dist[i] = INF;
        h->where[i] = -1;
    }
    h->size = 0;
    h->key = dist;
    dist[src] = 0;
    push_or_decrease(h, src);
    while (h->size > 0) {
        int u = pop_min(h);
        uint64_t du = dist[u];
        for (int e = g->off[u]; e < g->off[u + 1]; e++) {
            int v = g->dst[e];
            uint64_t nd = du + g->w[e];
            if (nd < dist[v]) {
                dist[v] = nd;
                push_or_decrease(h, v);
            }
        }
    }
}

static void bfs(const graph *g, int src, int *level, int *queue)
{
    for (int i = 0; i < g->n; i++)
        level[i] = -1;
    int qh = 0, qt = 0;
    level[src] = 0;
    queue[qt++] = src;
    while (qh < qt) {
        int u = queue[qh++];
        for (int e = g->off[u]; e < g->off[u + 1]; e++) {
            int v = g->dst[e];
            if (level[v] < 0) {
                level[v] = level[u] + 1;
                queue[qt++] = v;
            }
        }
    }
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 300000;
    int nsrc = argc > 2 ? atoi(argv[2]) : 8;
    if (n < 16 || n > 10000000 || nsrc < 1) {
        fprintf(stderr, "usage: dijkstra [nodes 16..10000000] [sources>=1]\n");
        return 1;
    }
    /* edges: each node gets 1..11 out-edges, mostly to "nearby" nodes
     * (locality, long paths) and some to random nodes (shortcuts) */
    int *deg = malloc((size_t)n * sizeof *deg);
    graph g;
    g.n = n;
    g.off = malloc(((size_t)n + 1) * sizeof *g.off);
    if (!deg || !g.off) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    long m = 0;
    for (int i = 0; i < n; i++) {
        deg[i] = 1 + (int)rnd(11);
        m += deg[i];
    }
    g.dst = malloc((size_t)m * sizeof *g.dst);
    g.w = malloc((size_t)m * sizeof *g.w);
    uint64_t *dist = malloc((size_t)n * sizeof *dist);
    int *level = malloc((size_t)n * sizeof *level);
    int *queue = malloc((size_t)n * sizeof *queue);
    iheap h;
    h.heap = malloc((size_t)n * sizeof *h.heap);
    h.where = malloc((size_t)n * sizeof *h.where);
    if (!g.dst || !g.w || !dist || !level || !queue || !h.heap || !h.where) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    g.off[0] = 0;
    for (int i = 0; i < n; i++) {
        int base = g.off[i];
        for (int k = 0; k < deg[i]; k++) {
            int v;
            if (k == 0)
                v = (i + 1) % n; /* ring: strongly connected */
            else if (rnd(8) != 0)
                v = (int)(((long)i + (long)rnd(2001) - 1000 + n) % n);
            else
                v = (int)rnd((uint32_t)n);
            g.dst[base + k] = v;
            g.w[base + k] = 1 + rnd(k == 0 ? 5000u : 1000u);
        }
        g.off[i + 1] = base + deg[i];
    }

    printf("nodes %d edges %ld sources %d\n", n, m, nsrc);
    uint64_t all_hash = 0;
    for (int s = 0; s < nsrc; s++) {
        int src = (int)rnd((uint32_t)n);
        bfs(&g, src, level, queue);
        uint64_t lsum = 0;
        int lmax = 0, reached = 0;
        for (int i = 0; i < n; i++) {
            if (level[i] >= 0) {
                reached++;
                lsum += (uint64_t)level[i];
                if (level[i] > lmax)
                    lmax = level[i];
            }
        }
        dijkstra(&g, src, dist, &h);
        uint64_t dsum = 0, dmax = 0, dh = 0;
        for (int i = 0; i < n; i++) {
            if (dist[i] != INF) {
                dsum += dist[i];
                if (dist[i] > dmax)
                    dmax = dist[i];
            }
            dh = (dh ^ dist[i]) * 0x100000001B3ull;
        }
        all_hash = all_hash * 31u + dh;
        printf("src %d: bfs reached %d levels sum %llu max %d; dijkstra sum "
               "%llu max %llu\n",
               src, reached, (unsigned long long)lsum, lmax,
               (unsigned long long)dsum, (unsigned long long)dmax);
    }
    printf("distance hash %016llx\n", (unsigned long long)all_hash);
    free(deg);
    free(g.off);
    free(g.dst);
    free(g.w);
    free(dist);
    free(level);
    free(queue);
    free(h.heap);
    free(h.where);
    return 0;
}
