-- Integer and float kernels for the Lua VM (written for irpipe's benchmark suite).
-- usage: lua numeric.lua SCALE   -- prints integer checksums only
local scale = tonumber(arg and arg[1]) or 10

local MASK = 0xFFFFFFFF

-- sieve of Eratosthenes
local function sieve(n)
  local comp = {}
  local count, sum = 0, 0
  for i = 2, n do
    if not comp[i] then
      count = count + 1
      sum = sum + i
      for j = i * i, n, i do comp[j] = true end
    end
  end
  return count, sum
end

-- xorshift32 generator
local function xorshift(seed)
  local x = seed
  return function()
    x = x ~ ((x << 13) & MASK)
    x = x ~ (x >> 17)
    x = x ~ ((x << 5) & MASK)
    return x
  end
end

-- heap sort written in Lua (no table.sort)
local function heapsort(a, n)
  local function sift(start, stop)
    local root = start
    while true do
      local child = 2 * root
      if child > stop then break end
      if child + 1 <= stop and a[child] < a[child + 1] then child = child + 1 end
      if a[root] < a[child] then
        a[root], a[child] = a[child], a[root]
        root = child
      else
        break
      end
    end
  end
  for start = n // 2, 1, -1 do sift(start, n) end
  for stop = n, 2, -1 do
    a[1], a[stop] = a[stop], a[1]
    sift(1, stop - 1)
  end
end

-- fannkuch-redux
local function fannkuch(n)
  local perm, perm1, count = {}, {}, {}
  local maxflips, checksum, r, permcount = 0, 0, n, 0
  for i = 0, n - 1 do perm1[i] = i end
  while true do
    while r ~= 1 do count[r - 1] = r; r = r - 1 end
    for i = 0, n - 1 do perm[i] = perm1[i] end
    local flips = 0
    local k = perm[0]
    while k ~= 0 do
      local i, j = 0, k
      while i < j do
        perm[i], perm[j] = perm[j], perm[i]
        i = i + 1; j = j - 1
      end
      flips = flips + 1
      k = perm[0]
    end
    if flips > maxflips then maxflips = flips end
    if permcount % 2 == 0 then checksum = checksum + flips else checksum = checksum - flips end
    while true do
      if r == n then return checksum, maxflips end
      local p0 = perm1[0]
      for i = 0, r - 1 do perm1[i] = perm1[i + 1] end
      perm1[r] = p0
      count[r] = count[r] - 1
      if count[r] > 0 then break end
      r = r + 1
    end
    permcount = permcount + 1
  end
end

-- mandelbrot: number of grid points that stay bounded
local function mandel(size, iters)
  local inside = 0
  for y = 0, size - 1 do
    local ci = 2.0 * y / size - 1.0
    for x = 0, size - 1 do
      local cr = 2.0 * x / size - 1.5
      local zr, zi, i = 0.0, 0.0, 0
      while i < iters do
        local zr2, zi2 = zr * zr, zi * zi
        if zr2 + zi2 > 4.0 then break end
        zi = 2.0 * zr * zi + ci
        zr = zr2 - zi2 + cr
        i = i + 1
      end
      if i == iters then inside = inside + 1 end
    end
  end
  return inside
end

-- dense matrix product on small integers stored as floats (exact)
local function matmul(n)
  local a, b = {}, {}
  for i = 1, n do
    local ra, rb = {}, {}
    for j = 1, n do
      ra[j] = ((i * 7 + j * 3) % 17) * 1.0
      rb[j] = ((i * 5 + j * 11) % 13) * 1.0
    end
    a[i], b[i] = ra, rb
  end
  local trace, total = 0, 0
  for i = 1, n do
    local ai = a[i]
    for j = 1, n do
      local s = 0.0
      for k = 1, n do s = s + ai[k] * b[k][j] end
      total = total + math.tointeger(s)
      if i == j then trace = trace + math.tointeger(s) end
    end
  end
  return trace, total
end

local c, s = sieve(200000 * scale)
print("sieve", c, s)

local rnd = xorshift(2463534242)
local n = 20000 * scale
local arr = {}
for i = 1, n do arr[i] = rnd() % 1000003 end
heapsort(arr, n)
local h = 0
for i = 1, n, 7 do h = (h * 31 + arr[i]) & MASK end
print("heapsort", arr[1], arr[n], h)

local fk = scale >= 10 and 9 or 8
local cs, mf = fannkuch(fk)
print("fannkuch", fk, cs, mf)

print("mandelbrot", mandel(40 * scale, 50))
print("matmul", matmul(12 * scale))
