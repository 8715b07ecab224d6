-- Tables, closures, metatables, coroutines and GC for the Lua VM (written for irpipe's
-- benchmark suite). usage: lua objects.lua SCALE   -- prints integer checksums only
local scale = tonumber(arg and arg[1]) or 10

-- binary trees (allocation + GC)
local function bottom_up(depth)
  if depth == 0 then return {} end
  depth = depth - 1
  return { bottom_up(depth), bottom_up(depth) }
end
local function check(tree)
  if tree[1] then return 1 + check(tree[1]) + check(tree[2]) end
  return 1
end
local maxdepth = scale >= 10 and 14 or 10
local total = 0
local long_lived = bottom_up(maxdepth)
for d = 4, maxdepth, 2 do
  local iters = 1 << (maxdepth - d + 4)
  local sum = 0
  for _ = 1, iters do sum = sum + check(bottom_up(d)) end
  total = total + sum
  print("trees", d, iters, sum)
end
print("long lived", check(long_lived), total)

-- a 2-D integer vector class with metamethods
local Vec = {}
Vec.__index = Vec
local function vec(x, y) return setmetatable({ x = x, y = y }, Vec) end
Vec.__add = function(a, b) return vec(a.x + b.x, a.y + b.y) end
Vec.__sub = function(a, b) return vec(a.x - b.x, a.y - b.y) end
Vec.__mul = function(a, k) return vec(a.x * k, a.y * k) end
Vec.__eq = function(a, b) return a.x == b.x and a.y == b.y end
Vec.__lt = function(a, b) return a.x < b.x or (a.x == b.x and a.y < b.y) end
function Vec:dot(o) return self.x * o.x + self.y * o.y end
function Vec:rot() return vec(-self.y, self.x) end

local p, acc = vec(1, 2), 0
for i = 1, 30000 * scale do
  local q = vec(i % 97, i % 89)
  p = (p + q):rot() - q * 3
  p = vec(p.x % 100003, p.y % 100019)
  acc = (acc + p:dot(q)) % 1000000007
end
print("vectors", p.x, p.y, acc)

-- sorting records with a comparator, and string-keyed tables
local seed = 12345
local function lcg()
  seed = (seed * 1103515245 + 12345) & 0x7fffffff
  return seed
end
local recs = {}
for i = 1, 3000 * scale do
  recs[i] = { key = lcg() % 5000, name = "n" .. (lcg() % 977), id = i }
end
table.sort(recs, function(a, b)
  if a.key ~= b.key then return a.key < b.key end
  if a.name ~= b.name then return a.name < b.name end
  return a.id < b.id
end)
local hs = 0
for i, r in ipairs(recs) do hs = (hs * 131 + r.id * 7 + r.key + i) % 4294967291 end
print("sort", recs[1].id, recs[#recs].id, hs)

local counts = {}
for i = 1, 20000 * scale do
  local k = "k" .. (lcg() % 4099)
  counts[k] = (counts[k] or 0) + 1
end
local nk, maxc = 0, 0
for _, v in pairs(counts) do nk = nk + 1; if v > maxc then maxc = v end end
print("hash", nk, maxc)

-- coroutine pipeline: generator -> filter -> consumer
local function gen(n)
  return coroutine.wrap(function()
    for i = 1, n do coroutine.yield(i) end
  end)
end
local function filter(src, pred)
  return coroutine.wrap(function()
    for v in src do if pred(v) then coroutine.yield(v) end end
  end)
end
local function map(src, f)
  return coroutine.wrap(function()
    for v in src do coroutine.yield(f(v)) end
  end)
end
local csum, cn = 0, 0
for v in map(filter(gen(20000 * scale), function(v) return v % 3 ~= 0 end),
             function(v) return v * v % 65521 end) do
  csum = csum + v; cn = cn + 1
end
print("coroutines", cn, csum)

-- closures capturing upvalues
local function counter(step)
  local c = 0
  return function() c = c + step; return c end
end
local fs = {}
for i = 1, 64 do fs[i] = counter(i) end
local cl = 0
for r = 1, 2000 * scale do
  cl = (cl + fs[r % 64 + 1]()) % 1000003
end
print("closures", cl)
