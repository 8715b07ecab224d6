-- String processing over a generated text file for the Lua VM (written for irpipe's benchmark
-- suite). usage: lua text.lua FILE   -- prints counts and integer hashes only
local fname = arg and arg[1] or "lines.txt"
local fh = assert(io.open(fname, "rb"))
local data = fh:read("a")
fh:close()

local function fnv(s, h)
  h = h or 2166136261
  for i = 1, #s do h = ((h ~ s:byte(i)) * 16777619) & 0xffffffff end
  return h
end

-- word frequencies
local freq, nwords = {}, 0
for w in data:gmatch("%a+") do
  freq[w] = (freq[w] or 0) + 1
  nwords = nwords + 1
end
local words = {}
for w in pairs(freq) do words[#words + 1] = w end
table.sort(words, function(a, b)
  if freq[a] ~= freq[b] then return freq[a] > freq[b] end
  return a < b
end)
print("words", nwords, #words)
for i = 1, 5 do print("top", words[i], freq[words[i]]) end

-- numbers at the ends of lines
local nsum, ncount, nmax = 0, 0, 0
for line in data:gmatch("[^\n]+") do
  local num = line:match("(%d+)$")
  if num then
    local v = tonumber(num)
    nsum = nsum + v; ncount = ncount + 1
    if v > nmax then nmax = v end
  end
end
print("numbers", ncount, nsum, nmax)

-- rewrite each line: capitalise words, swap two words, reformat the number
local out, nlines, h = {}, 0, 2166136261
for line in data:gmatch("[^\n]+") do
  nlines = nlines + 1
  local l = line:gsub("(%a)(%a*)", function(a, b) return a:upper() .. b end)
  l = l:gsub("^(%S+) (%S+)", "%2 %1")
  l = l:gsub("(%d+)$", function(d) return string.format("[%08x]", tonumber(d) * 2654435761 % 4294967296) end)
  out[#out + 1] = l
  if #out == 256 then
    h = fnv(table.concat(out, "\n"), h)
    out = {}
  end
end
h = fnv(table.concat(out, "\n"), h)
print("rewrite", nlines, h)

-- find / sub / rep / reverse over a chunk
local pos, hits = 1, 0
while true do
  local s, e = data:find("compiler %a+ loop", pos)
  if not s then break end
  hits = hits + 1
  pos = e + 1
end
local chunk = data:sub(1, 4096)
local rh = fnv(chunk:reverse() .. chunk:upper() .. ("ab"):rep(100))
print("find", hits, rh)
