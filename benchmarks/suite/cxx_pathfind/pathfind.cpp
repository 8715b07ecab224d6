// A* shortest paths on a generated weighted grid (8-connected moves, terrain
// costs, walls) using std::priority_queue and std::vector, checked against
// Dijkstra (A* with a zero heuristic) on a subset of queries.
// Usage: cxx_pathfind [size] [queries]   (written for irpipe's benchmark suite)
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <queue>
#include <vector>

namespace {

class Rng {
public:
    explicit Rng(uint64_t seed) : s_(seed) {}
    uint32_t next()
    {
        s_ = s_ * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t x = static_cast<uint32_t>(((s_ >> 18) ^ s_) >> 27);
        uint32_t r = static_cast<uint32_t>(s_ >> 59);
        return (x >> r) | (x << ((32u - r) & 31u));
    }
    uint32_t below(uint32_t n) { return next() % n; }

private:
    uint64_t s_;
};

struct Grid {
    int w, h;
    std::vector<uint8_t> cost; // 0 = wall, else 1..9

    Grid(int w_, int h_) : w(w_), h(h_), cost(static_cast<size_t>(w_) * h_, 1) {}
    bool passable(int x, int y) const { return cost[static_cast<size_t>(y) * w + x] != 0; }
    int at(int x, int y) const { return cost[static_cast<size_t>(y) * w + x]; }
};

// Terrain: smooth value noise from a few random "hills", plus wall segments.
Grid make_grid(int w, int h, Rng &rng)
{
    Grid g(w, h);
    struct Hill {
        int x, y, r, v;
    };
    std::vector<Hill> hills;
    int nh = (w * h) / 2000 + 4;
    for (int i = 0; i < nh; i++)
        hills.push_back({static_cast<int>(rng.below(static_cast<uint32_t>(w))),
                         static_cast<int>(rng.below(static_cast<uint32_t>(h))),
                         static_cast<int>(rng.below(30)) + 8, static_cast<int>(rng.below(6)) + 2});
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int c = 1;
            for (const Hill &hl : hills) {
                int dx = x - hl.x, dy = y - hl.y;
                if (dx * dx + dy * dy < hl.r * hl.r)
                    c += hl.v;
            }
            g.cost[static_cast<size_t>(y) * w + x] = static_cast<uint8_t>(c > 9 ? 9 : c);
        }
    // walls: random horizontal/vertical segments with gaps
    int nwalls = (w + h) / 3;
    for (int i = 0; i < nwalls; i++) {
        int x = static_cast<int>(rng.below(static_cast<uint32_t>(w)));
        int y = static_cast<int>(rng.below(static_cast<uint32_t>(h)));
        int len = static_cast<int>(rng.below(static_cast<uint32_t>(w / 3))) + 5;
        bool horiz = rng.below(2) == 0;
        for (int k = 0; k < len; k++) {
            int xx = horiz ? x + k : x, yy = horiz ? y : y + k;
            if (xx >= w || yy >= h)
                break;
            if (k % 17 == 16)
                continue; // gap
            g.cost[static_cast<size_t>(yy) * w + xx] = 0;
        }
    }
    return g;
}

struct Node {
    int64_t f;
    int64_t g;
    int idx;
};

struct NodeCmp {
    // priority_queue is a max-heap: "less" means lower priority.
    bool operator()(const Node &a, const Node &b) const
    {
        if (a.f != b.f)
            return a.f > b.f;
        if (a.g != b.g)
            return a.g < b.g; // prefer deeper nodes on ties
        return a.idx > b.idx;
    }
};

struct Result {
    int64_t cost;
    int expanded;
    int path_len;
};

// Costs are scaled by 10 (straight) and 14 (diagonal); the octile heuristic
// with minimum terrain cost 1 is admissible and consistent.
class AStar {
public:
    explicit AStar(const Grid &g)
        : g_(g), dist_(static_cast<size_t>(g.w) * g.h), parent_(dist_.size()),
          stamp_(dist_.size(), 0), closed_(dist_.size(), 0)
    {
    }

    Result run(int sx, int sy, int tx, int ty, bool use_heuristic)
    {
        ++epoch_;
        const int w = g_.w;
        auto h = [&](int x, int y) -> int64_t {
            if (!use_heuristic)
                return 0;
            int dx = std::abs(x - tx), dy = std::abs(y - ty);
            int mn = dx < dy ? dx : dy, mx = dx < dy ? dy : dx;
            return 14 * mn + 10 * (mx - mn);
        };
        std::priority_queue<Node, std::vector<Node>, NodeCmp> open;
        int s = sy * w + sx, t = ty * w + tx;
        touch(s);
        dist_[s] = 0;
        parent_[s] = -1;
        open.push({h(sx, sy), 0, s});
        int expanded = 0;
        static const int DX[8] = {1, -1, 0, 0, 1, 1, -1, -1};
        static const int DY[8] = {0, 0, 1, -1, 1, -1, 1, -1};
        while (!open.empty()) {
            Node n = open.top();
            open.pop();
            if (closed_[n.idx] == epoch_ || n.g != dist_[n.idx])
                continue;
            closed_[n.idx] = epoch_;
            expanded++;
            if (n.idx == t)
                break;
            int x = n.idx % w, y = n.idx / w;
            for (int k = 0; k < 8; k++) {
                int nx = x + DX[k], ny = y + DY[k];
                if (nx < 0 || ny < 0 || nx >= w || ny >= g_.h || !g_.passable(nx, ny))
                    continue;
                if (k >= 4 && (!g_.passable(nx, y) || !g_.passable(x, ny)))
                    continue; // no corner cutting
                int ni = ny * w + nx;
                int step = (k < 4 ? 10 : 14) * (g_.at(x, y) + g_.at(nx, ny)) / 2;
                int64_t ng = n.g + step;
                touch(ni);
                if (ng < dist_[ni]) {
                    dist_[ni] = ng;
                    parent_[ni] = n.idx;
                    open.push({ng + h(nx, ny), ng, ni});
                }
            }
        }
        Result r{-1, expanded, 0};
        if (stamp_[t] == epoch_ && closed_[t] == epoch_) {
            r.cost = dist_[t];
            for (int u = t; u != s; u = parent_[u])
                r.path_len++;
        }
        return r;
    }

private:
    void touch(int i)
    {
        if (stamp_[i] != epoch_) {
            stamp_[i] = epoch_;
            dist_[i] = INT64_MAX;
        }
    }

    const Grid &g_;
    std::vector<int64_t> dist_;
    std::vector<int> parent_;
    std::vector<uint32_t> stamp_, closed_;
    uint32_t epoch_ = 0;
};

} // namespace

int main(int argc, char **argv)
{
    int size = argc > 1 ? std::atoi(argv[1]) : 512;
    int queries = argc > 2 ? std::atoi(argv[2]) : 200;
    if (size < 32)
        size = 32;
    if (queries < 1)
        queries = 1;
    Rng rng(0x1234ABCDull);
    Grid g = make_grid(size, size, rng);
    AStar astar(g);

    int64_t total_cost = 0;
    long total_expanded = 0, total_len = 0, dijkstra_expanded = 0;
    int unreachable = 0, mismatches = 0;
    uint64_t chk = 0xCBF29CE484222325ull;
    for (int q = 0; q < queries; q++) {
        int sx, sy, tx, ty;
        do {
            sx = static_cast<int>(rng.below(static_cast<uint32_t>(size)));
            sy = static_cast<int>(rng.below(static_cast<uint32_t>(size)));
        } while (!g.passable(sx, sy));
        do {
            tx = static_cast<int>(rng.below(static_cast<uint32_t>(size)));
            ty = static_cast<int>(rng.below(static_cast<uint32_t>(size)));
        } while (!g.passable(tx, ty));
        Result r = astar.run(sx, sy, tx, ty, true);
        if (q % 8 == 0) {
            Result d = astar.run(sx, sy, tx, ty, false);
            dijkstra_expanded += d.expanded;
            if (d.cost != r.cost)
                mismatches++;
        }
        total_expanded += r.expanded;
        if (r.cost < 0) {
            unreachable++;
        } else {
            total_cost += r.cost;
            total_len += r.path_len;
        }
        chk = (chk ^ static_cast<uint64_t>(r.cost)) * 0x100000001B3ull;
    }
    std::printf("pathfind: %dx%d grid, %d queries, %d unreachable\n", size, size, queries,
                unreachable);
    std::printf("total cost %lld, path steps %ld\n", static_cast<long long>(total_cost), total_len);
    std::printf("expanded: A* %ld, Dijkstra (every 8th query) %ld, cost mismatches %d\n",
                total_expanded, dijkstra_expanded, mismatches);
    std::printf("checksum: %016llx\n", static_cast<unsigned long long>(chk));
    return 0;
}
