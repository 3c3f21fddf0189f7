-- Apache httpd (mod_lua, Lua 5.3): decides, before Apache decodes the URL, whether a request is a
-- fresh HIT Apache answers itself from the docroot, and hands everything else to farmgate
-- through mod_proxy with the URL as the client sent it. One hook per request:
--
--   LuaHookPreTranslateName .../farmgate_apache.lua farmgate_pre_translate
--
-- A hit: r.uri becomes the file's path (DocumentRoot is "/" in the generated virtual host, so
-- Apache's own translation maps it to exactly that file, and its default handler sends it with
-- sendfile and Range support); the stored headers go to headers_out, and Content-Type, ETag and
-- Last-Modified, which mod_mime and the default handler would derive from the file, to the
-- request environment, from which the generated `Header` directives set them last.
-- Per hit: the `stat` calls farmgate's own decision needs (the file, the nearest `.stat`, `.ttl`
-- with enableTTL); the route of a request line is memoised per Lua state (a few per child), the
-- parsed `.h` per route and file identity, a folder's "no symlink" check for
-- statCheckIntervalMs. `.stat` times are never cached: flushes arriving through propagation
-- never pass through here.
--
-- Lua 5.3 hashes a string from every second (third, ...) character only, so URLs that differ in
-- a digit or two (page-0001.html, page-0011.html) share hashes. A hit therefore keeps its hands
-- off the URL: the memo is keyed by the MD5 of the raw request line and Host (checked against
-- the line itself), and the URL is read only to compute a route (pushing it into Lua interns it,
-- a walk along every live string with the same hash).

require("apache2")
local route = require("farmgate_route")
local hitlib = require("farmgate_hit")
local config = require("farmgate_config")

local floor, tonumber, sub = math.floor, tonumber, string.sub
local OK, DONE = apache2.OK, apache2.DONE
local PROXYREQ_REVERSE = apache2.PROXYREQ_REVERSE or 2

-- apr_stat wanted bits: LINK (lstat), MTIME, CTIME, SIZE, TYPE; file types REG, DIR
local WANT_LINK = 0x1 + 0x10 + 0x20 + 0x100 + 0x8000
local WANT_MTIME = 0x10
local REG, DIR = 1, 2
local UPSTREAM = "proxy:http://" .. config.upstream
-- the ErrorDocument of the generated virtual host (apache.ts)
local FALLBACK = "/.farmgate-fallback"

local routes, nroutes = {}, 0
local folders, nfolders = {}, 0

-- apr_time_t (microseconds, truncated from nanoseconds) to farmgate's msOf(): Math.round of
-- the milliseconds; the half-millisecond boundary falls on a whole microsecond, so rounding the
-- truncated value gives the same result.
local function ms(us)
  return floor(us / 1000 + 0.5)
end

local function plan_route(r, method, host, uri)
  local p = hitlib.plan(config, route, function(subject, pattern)
    local m, err = r:regex(subject, pattern)
    if m == false and err then return nil end
    return m ~= false and m ~= nil
  end, method, host, uri)
  -- p.headers: the parsed `.h` of the file's last identity seen (header_plan), set on first use.
  if p then p.get = method == "GET" end
  return p
end

-- an apr time or size as an integer string (r:stat() may give floats)
local function int(x)
  return string.format("%.0f", x)
end

-- The folders' symlink check: false, or when it is due again (math.huge: no folders).
local function folders_ok(r, dirs, now, interval)
  local due = math.huge
  for i = 1, #dirs do
    local d = dirs[i]
    local t = folders[d]
    if not t or now - t >= interval then
      local st = r:stat(d, WANT_LINK)
      if not st or st.filetype ~= DIR then return false end
      nfolders = hitlib.remember(folders, nfolders, d, now)
      t = now
    end
    if t + interval < due then due = t + interval end
  end
  return due
end

local function header_plan(r, p, st)
  local e = p.headers
  if e and e.mtime == st.mtime and e.size == st.size and e.ctime == st.ctime then return e.plan end
  local plan = false
  local f = io.open(p.abs .. ".h", "rb")
  if f then
    local text = f:read("a")
    f:close()
    local list = text and hitlib.parse_headers(text)
    if list then plan = hitlib.plan_headers(list, p.type, config.notReplayed) or false end
  elseif not r:stat(p.abs .. ".h", WANT_MTIME) then
    -- no `.h`: farmgate serves the body with its default Content-Type
    plan = hitlib.plan_headers({}, p.type, config.notReplayed) or false
  end
  if plan then
    -- apr tables replace on assignment: a name stored twice is farmgate's to replay
    local seen = {}
    for i = 1, #plan.other, 2 do
      local key = plan.other[i]:lower()
      if seen[key] then
        plan = false
        break
      end
      seen[key] = true
    end
  end
  p.headers = { mtime = st.mtime, size = st.size, ctime = st.ctime, plan = plan }
  return plan
end

local function proxy(r, uri)
  r.handler = "proxy-server"
  r.proxyreq = PROXYREQ_REVERSE
  r.filename = UPSTREAM .. uri
  -- the URL exactly as the client sent it (as `ProxyPass ... nocanon`)
  r.notes["proxy-nocanon"] = "1"
  return DONE
end

-- The hit, or nil. r.uri is set last, once everything else is known. `line` is the request
-- line as received: with the Host header, it determines the method and the URL.
local function try_hit(r, hi, env, line)
  if hi["If-None-Match"] or hi["If-Modified-Since"] or hi["If-Match"] or hi["If-Unmodified-Since"] or hi["If-Range"] then return nil end
  local host = hi["Host"]
  -- (a request line ends at its first newline)
  local full = host and (line .. "\n" .. host) or line
  local key = r:md5(full)
  local e = routes[key]
  local p
  if e and e.full == full then
    p = e.plan
  else
    local uri = r.unparsed_uri
    if sub(uri, 1, 1) ~= "/" or #uri > config.urlBytes then return nil end
    p = plan_route(r, r.method, host, uri)
    nroutes = hitlib.remember(routes, nroutes, key, { full = full, plan = p })
  end
  if not p then return nil end
  local farm = p.farm
  local cookie = hi["Cookie"]
  -- a big cookie (the usual way a header block grows) near farmgate's limit: its 431 to answer
  -- (summing every header on every hit would cost as much as the rest of the hit)
  if cookie and #cookie > config.headerBytes - 1024 then return nil end
  if not farm.allowAuthorized and (hi["Authorization"] or route.has_auth_cookie(cookie)) then return nil end
  local range = hi["Range"]
  if range and not p.get then return nil end
  local now = ms(r:clock())
  local due = folders_ok(r, p.dirs, now, farm.statCheckIntervalMs)
  if not due then return nil end

  local st = r:stat(p.abs, WANT_LINK)
  if not st or st.filetype ~= REG then return nil end
  local file_ms = ms(st.mtime)
  local stat_ms
  local stats = p.stats
  for i = 1, #stats do
    local s = r:stat(stats[i], WANT_MTIME)
    if s then
      stat_ms = ms(s.mtime)
      break
    end
  end
  local ttl_ms
  if p.ttl then
    local s = r:stat(p.ttl, WANT_MTIME)
    if s then ttl_ms = ms(s.mtime) end
  end
  if route.freshness(file_ms, stat_ms, p.invalidates, farm.gracePeriodMs, ttl_ms, now) ~= "fresh" then return nil end
  if range and not hitlib.simple_range(range, st.size) then return nil end
  local plan = header_plan(r, p, st)
  if not plan then return nil end

  local ho = r.headers_out
  local other = plan.other
  for i = 1, #other, 2 do ho[other[i]] = other[i + 1] end
  ho["X-Cache"] = "HIT"
  env["FARMGATE_TYPE"] = plan.type
  if plan.etag then env["FARMGATE_ETAG"] = plan.etag else env["FARMGATE_NO_ETAG"] = "1" end
  if plan.lm then env["FARMGATE_LM"] = plan.lm else env["FARMGATE_NO_LM"] = "1" end
  local notes = r.notes
  notes["farmgate-front"] = "lua"
  if not range and notes["farmgate-want"] then
    -- mod_farmgate (src/front/module/mod_farmgate.c) asked for the plan of this hit: it answers
    -- the same request line itself until anything differs from what the plan was made for.
    local text = hitlib.plan_text(p, { int(st.mtime), int(st.ctime), int(st.size) }, plan, plan.other, due, config.headerBytes - 1024)
    if text then notes["farmgate-plan"] = text end
  end
  r.uri = p.abs
  return DONE
end

-- The test-only decision endpoint (`farmgate front --decide-endpoint`).

-- The route as the front decides it, for a request carrying X-Farmgate-Decide: in an error
-- response's header (an answer from this hook that also works for HEAD, which mod_lua's own
-- handlers never run).
local function decide(r, uri)
  local hi = r.headers_in
  local rx = function(subject, pattern)
    local m, err = r:regex(subject, pattern)
    if m == false and err then return nil end
    return m ~= false and m ~= nil
  end
  local authorized = hi["Authorization"] ~= nil or route.has_auth_cookie(hi["Cookie"])
  local rt = route.route(config, rx, r.method, hi["Host"], uri, authorized)
  r.err_headers_out["X-Farmgate-Route"] = hitlib.json({
    verdict = rt.verdict, why = rt.why, farm = rt.farm and rt.farm.name, docPath = rt.docPath, reason = rt.reason,
    statDirs = rt.statDirs, invalidates = rt.invalidates,
  })
  return 418
end

function farmgate_pre_translate(r)
  local hi = r.headers_in
  if config.decideEndpoint and hi["X-Farmgate-Decide"] then return decide(r, r.unparsed_uri) end
  local env = r.subprocess_env
  local line = r.the_request
  if env["REDIRECT_STATUS"] then
    -- An internal redirect keeps the original request line. The ErrorDocument fallback: the
    -- hit's file went away between this decision and its opening (a flush), so the original
    -- request goes to farmgate, which answers as it would have.
    local uri = r.unparsed_uri
    if uri == FALLBACK then
      local original = line:match("^%S+%s+(%S+)")
      if original and sub(original, 1, 1) == "/" then return proxy(r, original) end
    end
    -- (any other internal redirect: decided by its own method and URL)
    line = r.method .. " " .. uri
  end
  local ok, res = pcall(try_hit, r, hi, env, line)
  if ok and res then return res end
  if not ok then r:warn("farmgate front: " .. tostring(res)) end
  local uri = r.unparsed_uri
  if sub(uri, 1, 1) ~= "/" then
    -- farmgate refuses a request target that is not a path (400) too
    return 400
  end
  return proxy(r, uri)
end
