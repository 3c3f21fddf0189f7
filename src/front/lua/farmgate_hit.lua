-- The server-independent steps of a HIT answered by the front: reading the `.h` sidecar, which
-- stored headers the front can replay exactly, the default Content-Type, the Range requests it
-- serves itself. Portable Lua (LuaJIT 2.1 and Lua 5.3).

local M = {}

local find, sub, byte, char, lower = string.find, string.sub, string.byte, string.char, string.lower
local tonumber = tonumber

-- The `.h` sidecar, as cache/docroot-cache.ts writes it: JSON.stringify({ v: 1, headers: [[name,
-- value], ...] }). Parsed by hand, strictly: any other shape, and any escape other than \" \\ \/
-- \t (a header value with a control or non-ASCII character: farmgate re-encodes those as Latin-1,
-- which only farmgate should do), returns nil and farmgate answers the request.
-- (A JSON library would accept more than the front can replay exactly; none ships with mod_lua.)
local function json_string(s, pos)
  if byte(s, pos) ~= 34 then return nil end
  local out, i = {}, pos + 1
  while true do
    local j = find(s, '["\\]', i)
    if not j then return nil end
    local chunk = sub(s, i, j - 1)
    if find(chunk, "[^\32-\126]") then return nil end
    out[#out + 1] = chunk
    if byte(s, j) == 34 then return table.concat(out), j + 1 end
    local e = sub(s, j + 1, j + 1)
    if e == '"' or e == "\\" or e == "/" then
      out[#out + 1] = e
    elseif e == "t" then
      out[#out + 1] = "\t"
    else
      return nil
    end
    i = j + 2
  end
end

-- Skips a JSON string of any content (a cache tag): the position after it, or nil.
local function skip_json_string(s, pos)
  if byte(s, pos) ~= 34 then return nil end
  local i = pos + 1
  while true do
    local j = find(s, '["\\]', i)
    if not j then return nil end
    if byte(s, j) == 34 then return j + 1 end
    i = j + 2
  end
end

--- The stored headers of a `.h` file's content: a flat list { name, value, name, value, ... }
-- (names as stored: lower case), or nil when it is not exactly farmgate's format
-- (cache/sidecars.ts encodeHeaders: `{"v":1,"headers":[...]}`, with `,"tags":[...]` before the
-- closing brace when the file carries cache tags; the tags are not headers, and skipped).
function M.parse_headers(s)
  local prefix = '{"v":1,"headers":['
  if sub(s, 1, #prefix) ~= prefix then return nil end
  local pos = #prefix + 1
  local out = {}
  if byte(s, pos) == 93 then -- ]
    pos = pos + 1
  else
    while true do
      if byte(s, pos) ~= 91 then return nil end -- [
      local name, value
      name, pos = json_string(s, pos + 1)
      if not name or byte(s, pos) ~= 44 then return nil end
      value, pos = json_string(s, pos + 1)
      if not value or byte(s, pos) ~= 93 then return nil end
      out[#out + 1] = name
      out[#out + 1] = value
      pos = pos + 1
      local c = byte(s, pos)
      if c == 93 then
        pos = pos + 1
        break
      end
      if c ~= 44 then return nil end
      pos = pos + 1
    end
  end
  if sub(s, pos, pos + 8) == ',"tags":[' then
    pos = pos + 9
    if byte(s, pos) ~= 93 then
      while true do
        pos = skip_json_string(s, pos)
        if not pos then return nil end
        local c = byte(s, pos)
        pos = pos + 1
        if c == 93 then break end
        if c ~= 44 then return nil end
      end
    else
      pos = pos + 1
    end
  end
  if sub(s, pos) ~= "}" then return nil end
  return out
end

-- Stored headers a web server writes itself, so that replaying them beside its own would not be
-- what farmgate sends (farmgate replays a stored Date or Server as it is): a `.h` holding one is
-- answered by farmgate.
local SERVER_OWNS = {
  ["date"] = true, ["server"] = true, ["accept-ranges"] = true, ["content-range"] = true, ["status"] = true,
}

--- Splits a parsed header list for a server: the three headers web servers derive from the file
-- themselves (Content-Type, ETag, Last-Modified; each at most once), and the rest in order.
-- `skip` holds the names farmgate never replays (header-names.ts SET_BY_FARMGATE: framing,
-- hop-by-hop, X-Cache): skipped here too. Returns nil when the list cannot be replayed exactly.
function M.plan_headers(list, default_type, skip)
  local plan = { other = {} }
  for i = 1, #list, 2 do
    local name, value = list[i], list[i + 1]
    if find(name, "[^%w!#$%%&'*+.^_`|~-]") or name == "" then return nil end
    local l = lower(name)
    if skip[l] then
      -- farmgate leaves it out: so does the front
    elseif SERVER_OWNS[l] then
      return nil
    elseif l == "content-type" or l == "etag" or l == "last-modified" then
      local key = l == "content-type" and "type" or l == "etag" and "etag" or "lm"
      if plan[key] then return nil end
      plan[key] = value
    else
      plan.other[#plan.other + 1] = name
      plan.other[#plan.other + 1] = value
    end
  end
  if plan.type == nil then plan.type = default_type end
  return plan
end

--- farmgate's Content-Type for a file without a stored one: mime-types' contentType(extname),
-- else application/octet-stream (serve/send.ts). `types` is the generated extension table.
function M.default_type(types, doc)
  local base = doc:match("[^/]*$")
  local dot = base:match("^.*()%.")
  if not dot or dot == 1 then return "application/octet-stream" end
  return types[lower(sub(base, dot + 1))] or "application/octet-stream"
end

--- A Range header the front answers itself: one byte range, `bytes=a-b`, `bytes=a-` or
-- `bytes=-n`, satisfiable for a file of `size` bytes and not covering all of it (nginx answers
-- such a range 206, Apache 200). Anything else (several ranges, an unsatisfiable, odd or whole
-- range) is farmgate's to answer (serve/range.ts). Returns true or false.
function M.simple_range(value, size)
  local a, b = value:match("^bytes=(%d%d?%d?%d?%d?%d?%d?%d?%d?%d?%d?%d?%d?%d?%d?)%-(%d*)$")
  if a then
    if #b > 15 then return false end
    a = tonumber(a)
    if a >= size then return false end
    if b == "" then return a > 0 end
    b = tonumber(b)
    return b >= a and (a > 0 or b < size - 1)
  end
  local n = value:match("^bytes=%-(%d%d?%d?%d?%d?%d?%d?%d?%d?%d?%d?%d?%d?%d?%d?)$")
  if n then
    n = tonumber(n)
    return n > 0 and n < size
  end
  return false
end

--- The hit plan of a request line, built once per distinct line by the server's Lua and kept:
-- false when farmgate must answer (one of farmgate's own paths, or not a cacheable route by
-- farmgate_route.lua, the Lua image of serve/route.ts); else the file, the `.stat` files that may
-- decide its freshness (nearest first), the folders below the docroot to check for symlinks, the
-- `.ttl` when enableTTL, whether `cache.invalidate` applies and the default Content-Type.
-- `rx(subject, pattern)` is the server's PCRE match (ngx.re.find, r:regex).
function M.plan(config, route, rx, method, host, uri)
  for i = 1, #config.ownPaths do
    local own = config.ownPaths[i]
    if sub(uri, 1, #own) == own and (#uri == #own or sub(uri, #own + 1, #own + 1) == "?") then return false end
  end
  local rt = route.route(config, rx, method, host, uri, false)
  if rt.verdict ~= "cache" then return false end
  local farm, doc = rt.farm, rt.docPath
  local stats = {}
  for i = 1, #rt.statDirs do
    local d = rt.statDirs[i]
    stats[i] = farm.docroot .. (d == "/" and "" or d) .. "/.stat"
  end
  local dirs = {}
  local prefix = farm.docroot
  for seg in doc:gmatch("([^/]+)/") do
    prefix = prefix .. "/" .. seg
    dirs[#dirs + 1] = prefix
  end
  local abs = farm.docroot .. doc
  return {
    farm = farm,
    abs = abs,
    stats = stats,
    dirs = dirs,
    ttl = farm.enableTTL and (abs .. ".ttl") or nil,
    invalidates = rt.invalidates,
    type = M.default_type(config.types, doc),
  }
end

-- Header names a C fast path does not set exactly as the server's Lua does (nginx rewrites a
-- relative Location or Refresh the Lua set, and leaves a response with Content-Encoding
-- uncompressed): a hit that stores one stays with the Lua.
local NOT_FOR_C = { ["location"] = true, ["refresh"] = true, ["content-encoding"] = true }

--- The text of a hit's plan for the server's C fast path (src/front/module/farmgate_plan.h
-- explains the fields), or nil when it cannot be handed over. `other` is the flat list of the
-- other headers, name, value, ..., in the order the Lua sets them; `identity` the file's mtime,
-- ctime and size as integer strings in the server's unit; `due` when the folders' symlink
-- check is due (math.huge: no folders); `limit` the header limit the server's module applies.
function M.plan_text(p, identity, plan, other, due, limit)
  local farm = p.farm
  for i = 1, #other, 2 do
    if NOT_FOR_C[lower(other[i])] then return nil end
  end
  local f = {
    "2", p.abs, p.ttl or "", p.invalidates and "1" or "0", string.format("%.0f", farm.gracePeriodMs),
    due == math.huge and "-1" or string.format("%.0f", due), farm.allowAuthorized and "1" or "0",
    string.format("%.0f", limit), identity[1], identity[2], identity[3],
    plan.type, plan.etag and ("+" .. plan.etag) or "-", plan.lm and ("+" .. plan.lm) or "-",
    string.format("%.0f", farm.statCheckIntervalMs), tostring(#p.stats),
  }
  for i = 1, #p.stats do f[#f + 1] = p.stats[i] end
  f[#f + 1] = tostring(#p.dirs)
  for i = 1, #p.dirs do f[#f + 1] = p.dirs[i] end
  f[#f + 1] = tostring(math.floor(#other / 2))
  for i = 1, #other do f[#f + 1] = other[i] end
  for i = 1, #f do
    if find(f[i], "[%z\31]") then return nil end
  end
  return table.concat(f, "\31")
end

--- Entries kept per worker in each memo table (routes, files, folders); a full table is emptied.
M.MAX_ENTRIES = 10000

--- Puts key → value into a memo table holding `n` entries; returns its new count.
function M.remember(tbl, n, key, value)
  if n >= M.MAX_ENTRIES then
    for k in pairs(tbl) do tbl[k] = nil end
    n = 0
  end
  tbl[key] = value
  return n + 1
end

--- JSON for the test-only decision endpoint (test/front/differential.test.ts).
function M.json(v)
  local t = type(v)
  if t == "nil" then return "null" end
  if t == "boolean" or t == "number" then return tostring(v) end
  if t == "string" then
    return '"' .. v:gsub('[%c"\\\128-\255]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
  end
  local parts = {}
  if #v > 0 then
    for i = 1, #v do parts[i] = M.json(v[i]) end
    return "[" .. table.concat(parts, ",") .. "]"
  end
  for k, x in pairs(v) do parts[#parts + 1] = M.json(k) .. ":" .. M.json(x) end
  return "{" .. table.concat(parts, ",") .. "}"
end

return M
