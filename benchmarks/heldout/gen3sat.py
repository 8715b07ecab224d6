import random, sys
n, ratio, seed = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
r = random.Random(seed); m = int(n * ratio)
print(f"c random 3-SAT, {n} variables, ratio {ratio}, seed {seed} (written for irpipe)")
print(f"p cnf {n} {m}")
for _ in range(m):
    vs = r.sample(range(1, n + 1), 3)
    print(" ".join(str(v if r.random() < 0.5 else -v) for v in vs), 0)
