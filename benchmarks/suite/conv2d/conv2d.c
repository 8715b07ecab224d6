/* Quantized (int8 activations/weights, int32 accumulation) 2D convolution
 * network on generated tensors: 3x3 convolutions with padding and stride,
 * depthwise 3x3, pointwise 1x1, ReLU + requantization and max pooling.
 * Usage: conv2d [size] [images]   (written for irpipe's benchmark suite) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int c, h, w; /* channels, height, width (CHW layout) */
    int8_t *d;
} tensor_t;

static uint32_t xs_state = 0x12345679u;

static uint32_t xorshift32(void)
{
    uint32_t x = xs_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    xs_state = x;
    return x;
}

static int8_t rand_i8(int range)
{
    /* uniform in [-range, range] */
    return (int8_t)((int)(xorshift32() % (uint32_t)(2 * range + 1)) - range);
}

static tensor_t tensor_new(int c, int h, int w)
{
    tensor_t t = {c, h, w, calloc((size_t)c * h * w, 1)};
    if (!t.d) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return t;
}

static inline int8_t requant(int32_t acc, int32_t mult, int shift)
{
    /* relu, then fixed-point scale with rounding, then saturate */
    if (acc < 0)
        acc = 0;
    int64_t v = ((int64_t)acc * mult + ((int64_t)1 << (shift - 1))) >> shift;
    if (v > 127)
        v = 127;
    return (int8_t)v;
}

/* full 3x3 convolution, zero padding 1, given stride */
static tensor_t conv3x3(const tensor_t *in, int cout, int stride, const int8_t *wt,
                        const int32_t *bias, int32_t mult, int shift)
{
    int ho = (in->h + 2 - 3) / stride + 1;
    int wo = (in->w + 2 - 3) / stride + 1;
    tensor_t out = tensor_new(cout, ho, wo);
    int32_t *acc = malloc((size_t)wo * sizeof *acc);
    for (int co = 0; co < cout; co++) {
        for (int y = 0; y < ho; y++) {
            for (int x = 0; x < wo; x++)
                acc[x] = bias[co];
            for (int ci = 0; ci < in->c; ci++) {
                const int8_t *wk = wt + ((size_t)co * in->c + ci) * 9;
                const int8_t *plane = in->d + (size_t)ci * in->h * in->w;
                for (int ky = 0; ky < 3; ky++) {
                    int iy = y * stride + ky - 1;
                    if (iy < 0 || iy >= in->h)
                        continue;
                    const int8_t *row = plane + (size_t)iy * in->w;
                    for (int kx = 0; kx < 3; kx++) {
                        int32_t wv = wk[ky * 3 + kx];
                        for (int x = 0; x < wo; x++) {
                            int ix = x * stride + kx - 1;
                            if (ix >= 0 && ix < in->w)
                                acc[x] += wv * row[ix];
                        }
                    }
                }
            }
            int8_t *o = out.d + ((size_t)co * ho + y) * wo;
            for (int x = 0; x < wo; x++)
                o[x] = requant(acc[x], mult, shift);
        }
    }
    free(acc);
    return out;
}

/* depthwise 3x3, stride 1, padding 1 */
static tensor_t dwconv3x3(const tensor_t *in, const int8_t *wt, const int32_t *bias,
                          int32_t mult, int shift)
{
    tensor_t out = tensor_new(in->c, in->h, in->w);
    int H = in->h, W = in->w;
    for (int c = 0; c < in->c; c++) {
        const int8_t *p = in->d + (size_t)c * H * W;
        const int8_t *k = wt + (size_t)c * 9;
        int8_t *o = out.d + (size_t)c * H * W;
        for (int y = 0; y < H; y++) {
            for (int x = 0; x < W; x++) {
                int32_t s = bias[c];
                for (int dy = -1; dy <= 1; dy++) {
                    int yy = y + dy;
                    if (yy < 0 || yy >= H)
                        continue;
                    for (int dx = -1; dx <= 1; dx++) {
                        int xx = x + dx;
                        if (xx < 0 || xx >= W)
                            continue;
                        s += k[(dy + 1) * 3 + dx + 1] * p[yy * W + xx];
                    }
                }
                o[y * W + x] = requant(s, mult, shift);
            }
        }
    }
    return out;
}

/* pointwise 1x1 convolution: out[co][p] = sum_ci w[co][ci] * in[ci][p] */
static tensor_t pwconv(const tensor_t *in, int cout, const int8_t *wt, const int32_t *bias,
                       int32_t mult, int shift)
{
    size_t hw = (size_t)in->h * in->w;
    tensor_t out = tensor_new(cout, in->h, in->w);
    int32_t *acc = malloc(hw * sizeof *acc);
    for (int co = 0; co < cout; co++) {
        for (size_t p = 0; p < hw; p++)
            acc[p] = bias[co];
        for (int ci = 0; ci < in->c; ci++) {
            int32_t wv = wt[(size_t)co * in->c + ci];
            const int8_t *src = in->d + (size_t)ci * hw;
            for (size_t p = 0; p < hw; p++)
                acc[p] += wv * src[p];
        }
        int8_t *o = out.d + (size_t)co * hw;
        for (size_t p = 0; p < hw; p++)
            o[p] = requant(acc[p], mult, shift);
    }
    free(acc);
    return out;
}

static tensor_t maxpool2(const tensor_t *in)
{
    int ho = in->h / 2, wo = in->w / 2;
    tensor_t out = tensor_new(in->c, ho, wo);
    for (int c = 0; c < in->c; c++) {
        const int8_t *p = in->d + (size_t)c * in->h * in->w;
        int8_t *o = out.d + (size_t)c * ho * wo;
        for (int y = 0; y < ho; y++)
            for (int x = 0; x < wo; x++) {
                int8_t m = p[(2 * y) * in->w + 2 * x];
                int8_t v;
                v = p[(2 * y) * in->w + 2 * x + 1];
                if (v > m) m = v;
                v = p[(2 * y + 1) * in->w + 2 * x];
                if (v > m) m = v;
                v = p[(2 * y + 1) * in->w + 2 * x + 1];
                if (v > m) m = v;
                o[y * wo + x] = m;
            }
    }
    return out;
}

typedef struct {
    int kind; /* 0 conv3x3, 1 depthwise, 2 pointwise, 3 maxpool */
    int cout, stride;
    int32_t mult;
    int shift;
    int8_t *w;
    int32_t *b;
} layer_t;

static void layer_init(layer_t *L, int kind, int cin, int cout, int stride)
{
    size_t nw = kind == 0 ? (size_t)cout * cin * 9 : kind == 1 ? (size_t)cin * 9
              : kind == 2 ? (size_t)cout * cin : 0;
    int nb = kind == 1 ? cin : cout;
    L->kind = kind;
    L->cout = kind == 1 || kind == 3 ? cin : cout;
    L->stride = stride;
    L->w = nw ? malloc(nw) : NULL;
    L->b = nb ? malloc((size_t)nb * sizeof(int32_t)) : NULL;
    for (size_t i = 0; i < nw; i++)
        L->w[i] = rand_i8(kind == 1 ? 60 : 40);
    for (int i = 0; i < nb; i++)
        L->b[i] = (int32_t)(xorshift32() % 2001u) - 600;
    /* scale so that typical accumulations land in int8 range */
    int fan = kind == 0 ? cin * 9 : kind == 1 ? 9 : cin;
    L->shift = 16;
    int r = 1;
    while ((r + 1) * (r + 1) <= fan)
        r++;
    L->mult = (int32_t)(5000 / r) + (int32_t)(xorshift32() % 64u);
}

static uint64_t hash_tensor(uint64_t h, const tensor_t *t)
{
    size_t n = (size_t)t->c * t->h * t->w;
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)t->d[i];
        h *= 0x100000001B3ull;
    }
    return h;
}

int main(int argc, char **argv)
{
    int size = argc > 1 ? atoi(argv[1]) : 128;
    int images = argc > 2 ? atoi(argv[2]) : 4;
    if (size < 8)
        size = 8;
    size &= ~3;
    if (images < 1)
        images = 1;

    /* network: 3->16 conv s1, 16->32 conv s2, dw, pw 32->48, pool, conv 48->48, pw 48->64 */
    enum { NL = 7 };
    static const int kinds[NL] = {0, 0, 1, 2, 3, 0, 2};
    static const int couts[NL] = {16, 32, 32, 48, 48, 48, 64};
    static const int strides[NL] = {1, 2, 1, 1, 1, 1, 1};
    layer_t layers[NL];
    int cin = 3;
    for (int i = 0; i < NL; i++) {
        layer_init(&layers[i], kinds[i], cin, couts[i], strides[i]);
        cin = layers[i].cout;
    }

    uint64_t h = 0xCBF29CE484222325ull;
    long hist[8] = {0};
    long nonzero = 0;
    for (int img = 0; img < images; img++) {
        tensor_t t = tensor_new(3, size, size);
        /* smooth-ish synthetic image: gradients plus noise */
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < size; y++)
                for (int x = 0; x < size; x++) {
                    int v = ((x * (c + 1) + y * (3 - c) + img * 17) % 200) - 100;
                    v += (int)(xorshift32() % 41u) - 20;
                    if (v > 127) v = 127;
                    if (v < -128) v = -128;
                    t.d[((size_t)c * size + y) * size + x] = (int8_t)v;
                }
        for (int i = 0; i < NL; i++) {
            layer_t *L = &layers[i];
            tensor_t nt;
            switch (L->kind) {
            case 0: nt = conv3x3(&t, L->cout, L->stride, L->w, L->b, L->mult, L->shift); break;
            case 1: nt = dwconv3x3(&t, L->w, L->b, L->mult, L->shift); break;
            case 2: nt = pwconv(&t, L->cout, L->w, L->b, L->mult, L->shift); break;
            default: nt = maxpool2(&t); break;
            }
            free(t.d);
            t = nt;
        }
        h = hash_tensor(h, &t);
        size_t n = (size_t)t.c * t.h * t.w;
        for (size_t i = 0; i < n; i++) {
            hist[(uint8_t)t.d[i] >> 4]++;
            nonzero += t.d[i] != 0;
        }
        free(t.d);
    }
    printf("conv2d size=%d images=%d output %dx%dx%d\n", size, images, couts[NL - 1],
           size / 4, size / 4);
    printf("nonzero outputs: %ld\n", nonzero);
    printf("histogram:");
    for (int i = 0; i < 8; i++)
        printf(" %ld", hist[i]);
    printf("\n");
    printf("checksum: %016llx\n", (unsigned long long)h);
    for (int i = 0; i < NL; i++) {
        free(layers[i].w);
        free(layers[i].b);
    }
    return 0;
}
