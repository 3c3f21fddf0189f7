-- nginx (lua-nginx-module, LuaJIT): decides whether a request is a fresh HIT the front answers
-- itself. Called from `set_by_lua` in the generated farmgate.conf (no coroutine, no yield):
--
--   set_by_lua $farmgate_file 'return farmgate_hit()' $request_method $http_host $request_uri
--       $farmgate_special $http_cookie $request_length;
--
-- It returns the file to send (the location's `alias`) after setting the replayed headers, or ""
-- and the request goes to farmgate (@farmgate). Per hit it costs the `stat` calls farmgate's own
-- decision needs (the file, the nearest `.stat`, `.ttl` with enableTTL) plus table lookups: the
-- route of a request line is memoised per worker, the parsed `.h` per file identity, and a
-- folder's "no symlink" check for the farm's statCheckIntervalMs. `.stat` times are never
-- cached: a flush that arrives through propagation touches them without passing through here.

local ffi = require("ffi")
local route = require("farmgate_route")
local hitlib = require("farmgate_hit")
local config = require("farmgate_config")

local C = ffi.C
local floor, tonumber = math.floor, tonumber
local ngx = ngx
local re_find = ngx.re.find

ffi.cdef([[
typedef struct { int64_t tv_sec; uint32_t tv_nsec; int32_t reserved; } farmgate_statx_ts;
typedef struct {
  uint32_t mask; uint32_t blksize; uint64_t attributes;
  uint32_t nlink; uint32_t uid; uint32_t gid; uint16_t mode; uint16_t spare0;
  uint64_t ino; uint64_t size; uint64_t blocks; uint64_t attributes_mask;
  farmgate_statx_ts atime, btime, ctime, mtime;
  uint32_t rdev_major, rdev_minor, dev_major, dev_minor;
  uint64_t spare2[14];
} farmgate_statx;
int statx(int dirfd, const char *pathname, int flags, unsigned int mask, farmgate_statx *buf);
]])

local AT_FDCWD = -100
local AT_SYMLINK_NOFOLLOW = 0x100
-- STATX_TYPE | STATX_MODE | STATX_INO | STATX_SIZE | STATX_MTIME | STATX_CTIME
local MASK = 0x1 + 0x2 + 0x100 + 0x200 + 0x40 + 0x80
local S_IFREG, S_IFDIR = 0x8000, 0x4000
local sx = ffi.new("farmgate_statx")

-- cache/docroot-cache.ts msOf(): Math.round(sec * 1e3 + nsec / 1e6), in the same doubles.
local function ms(ts)
  return floor(tonumber(ts.tv_sec) * 1000 + ts.tv_nsec / 1e6 + 0.5)
end

local function file_type()
  local m = sx.mode
  return m - m % 0x1000
end

local function rx(subject, pattern)
  local from, _, err = re_find(subject, pattern, "jo")
  if err then return nil end
  return from ~= nil
end


-- request line -> hit plan, or false (never served by the front)
local routes, nroutes = {}, 0
-- absolute file path -> { identity..., plan = header plan or false }
local files, nfiles = {}, 0
-- absolute folder path -> time (ms) it was last found to be a real folder (no symlink)
local folders, nfolders = {}, 0

local function plan_route(method, host, uri)
  return hitlib.plan(config, route, rx, method, host, uri)
end


-- Are the file's folders real folders (no symlink) below the docroot? A symlink is farmgate's
-- to judge (it follows those that stay inside the docroot's real path).
-- Returns false, or when the check is due again (math.huge: no folders).
local function folders_ok(dirs, now, interval)
  local due = math.huge
  for i = 1, #dirs do
    local d = dirs[i]
    local t = folders[d]
    if not t or now - t >= interval then
      if C.statx(AT_FDCWD, d, AT_SYMLINK_NOFOLLOW, MASK, sx) ~= 0 or file_type() ~= S_IFDIR then return false end
      nfolders = hitlib.remember(folders, nfolders, d, now)
      t = now
    end
    if t + interval < due then due = t + interval end
  end
  return due
end

-- ngx_http_farmgate_module (the optional C fast path, src/front/module): the plan of this hit,
-- which the module keeps and answers the same request with until anything differs from what
-- it was made for. The identity in nanoseconds, as the module's stat() gives it.
local function publish(p, plan, due, mtime_s, mtime_ns, ctime_s, ctime_ns, size)
  if mtime_s < 0 or ctime_s < 0 then return end
  local other = {}
  for i = 1, #plan.other do
    local h = plan.other[i]
    if type(h[2]) == "table" then
      for j = 1, #h[2] do
        other[#other + 1] = h[1]
        other[#other + 1] = h[2][j]
      end
    else
      other[#other + 1] = h[1]
      other[#other + 1] = h[2]
    end
  end
  local identity = {
    string.format("%.0f%09d", mtime_s, mtime_ns), string.format("%.0f%09d", ctime_s, ctime_ns), string.format("%.0f", size),
  }
  local text = hitlib.plan_text(p, identity, plan, other, due, config.headerBytes - 1024)
  if text then ngx.var.farmgate_plan = text end
end

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function header_plan(p, ino, size, mtime_s, mtime_ns, ctime_s, ctime_ns)
  local e = files[p.abs]
  if e and e.ino == ino and e.size == size and e.ms == mtime_s and e.mns == mtime_ns and e.cs == ctime_s and e.cns == ctime_ns then
    return e.plan
  end
  local plan = false
  local text = read_file(p.abs .. ".h")
  if text == nil then
    -- No `.h`: farmgate serves the body with its default Content-Type. One that exists but
    -- cannot be read is farmgate's to judge.
    if C.statx(AT_FDCWD, p.abs .. ".h", 0, MASK, sx) ~= 0 then plan = hitlib.plan_headers({}, p.type, config.notReplayed) or false end
  else
    local list = hitlib.parse_headers(text)
    if list then plan = hitlib.plan_headers(list, p.type, config.notReplayed) or false end
  end
  if plan then
    -- repeated names become one ngx.header entry holding every value, in order
    local merged, order = {}, {}
    local other = plan.other
    for i = 1, #other, 2 do
      local name, value = other[i], other[i + 1]
      local key = name:lower()
      local cur = merged[key]
      if cur == nil then
        merged[key] = { name, value }
        order[#order + 1] = key
      elseif type(cur[2]) == "table" then
        cur[2][#cur[2] + 1] = value
      else
        cur[2] = { cur[2], value }
      end
    end
    local list = {}
    for i = 1, #order do list[i] = merged[order[i]] end
    plan.other = list
  end
  nfiles = hitlib.remember(files, nfiles, p.abs, {
    ino = ino, size = size, ms = mtime_s, mns = mtime_ns, cs = ctime_s, cns = ctime_ns, plan = plan,
  })
  return plan
end

local function hit()
  local a = ngx.arg
  local method, host, uri, special, cookie = a[1], a[2], a[3], a[4], a[5]
  -- a long URL or a header block near farmgate's limits: farmgate answers (414, 431)
  if uri == nil or #uri > config.urlBytes or tonumber(a[6]) > config.headerBytes - 1024 then return "" end
  -- $farmgate_special: something rare is on the request (nginx.ts): a conditional header
  -- (farmgate's to answer), Authorization, Range
  local authorization, range
  if special then
    local var = ngx.var
    if var.farmgate_conditional ~= "" then return "" end
    authorization, range = var.http_authorization, var.http_range
  end
  local key = method .. " " .. (host or "") .. " " .. uri
  local p = routes[key]
  if p == nil then
    p = plan_route(method, host, uri)
    nroutes = hitlib.remember(routes, nroutes, key, p)
  end
  if not p then return "" end
  local farm = p.farm
  if not farm.allowAuthorized and (authorization or (cookie and route.has_auth_cookie(cookie))) then return "" end
  if range and method ~= "GET" then return "" end
  local now = floor(ngx.now() * 1000 + 0.5)
  local due = folders_ok(p.dirs, now, farm.statCheckIntervalMs)
  if not due then return "" end

  if C.statx(AT_FDCWD, p.abs, AT_SYMLINK_NOFOLLOW, MASK, sx) ~= 0 or file_type() ~= S_IFREG then return "" end
  local file_ms = ms(sx.mtime)
  local ino, size = tonumber(sx.ino), tonumber(sx.size)
  local mtime_s, mtime_ns = tonumber(sx.mtime.tv_sec), sx.mtime.tv_nsec
  local ctime_s, ctime_ns = tonumber(sx.ctime.tv_sec), sx.ctime.tv_nsec

  local stat_ms
  local stats = p.stats
  for i = 1, #stats do
    if C.statx(AT_FDCWD, stats[i], 0, MASK, sx) == 0 then
      stat_ms = ms(sx.mtime)
      break
    end
  end
  local ttl_ms
  if p.ttl and C.statx(AT_FDCWD, p.ttl, 0, MASK, sx) == 0 then ttl_ms = ms(sx.mtime) end
  if route.freshness(file_ms, stat_ms, p.invalidates, farm.gracePeriodMs, ttl_ms, now) ~= "fresh" then return "" end
  if range and not hitlib.simple_range(range, size) then return "" end

  local plan = header_plan(p, ino, size, mtime_s, mtime_ns, ctime_s, ctime_ns)
  if not plan then return "" end
  -- X-Cache: HIT is the location's add_header; ETag and Last-Modified are add_header of these
  -- variables (an unset one removes the header nginx would derive from the file)
  local header = ngx.header
  header["Content-Type"] = plan.type
  local other = plan.other
  for i = 1, #other do
    local h = other[i]
    header[h[1]] = h[2]
  end
  if plan.etag then ngx.var.farmgate_etag = plan.etag end
  if plan.lm then ngx.var.farmgate_last_modified = plan.lm end
  if config.fastModule and not range then publish(p, plan, due, mtime_s, mtime_ns, ctime_s, ctime_ns, size) end
  return p.abs
end

local HOP = { ["keep-alive"] = true, ["close"] = true }

-- In @farmgate, before proxying: the request headers the client's Connection header names are
-- hop-by-hop (RFC 9110 §7.6.1) and nginx would pass them on; and a hit that fell through (its
-- file deleted or replaced between the decision and the open) set response headers that must
-- not reach the client with farmgate's answer.
local function clear()
  local a = ngx.arg
  local connection = a[2]
  if connection then
    for token in connection:gmatch("[^,%s]+") do
      local t = token:lower()
      if not HOP[t] then ngx.req.clear_header(t) end
    end
  end
  if a[1] == nil then return "" end
  local header = ngx.header
  for name in pairs(ngx.resp.get_headers()) do header[name] = nil end
  header["Content-Type"] = nil
  return ""
end

-- The test-only decision endpoint (`farmgate front --decide-endpoint`): the route of this
-- request as the front decides it, in JSON, for test/front/differential.test.ts.

local function decide()
  local var = ngx.var
  local cookie = var.http_cookie
  local authorized = var.http_authorization ~= nil or route.has_auth_cookie(cookie)
  local r = route.route(config, rx, ngx.req.get_method(), var.http_host, var.request_uri, authorized)
  local text = hitlib.json({
    verdict = r.verdict, why = r.why, farm = r.farm and r.farm.name, docPath = r.docPath, reason = r.reason,
    statDirs = r.statDirs, invalidates = r.invalidates,
  })
  -- in a header too: a HEAD request has no body
  ngx.header["X-Farmgate-Route"] = text
  ngx.header["Content-Type"] = "application/json"
  ngx.say(text)
end

return { hit = hit, clear = clear, decide = decide }
