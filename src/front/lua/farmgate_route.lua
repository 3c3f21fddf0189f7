-- farmgate's route decision, for the front servers (nginx with lua-nginx-module / LuaJIT,
-- Apache httpd with mod_lua / Lua 5.3): the Lua image of src/serve/route.ts.
--
--   farm by Host -> document path -> internal names -> filter -> cacheable -> freshness rule
--
-- The rules themselves are not written here: `farmgate front` generates farmgate_config.lua
-- from the same compiled rules farmgate uses (every glob as the anchored regex it compiles to).
-- This file is the order and the small string steps around them, kept in step with route.ts by
-- test/front/differential.test.ts (the same requests decided by both, answers compared).
--
-- Whatever cannot be decided exactly here is "undecided", and the front hands the request to
-- farmgate: a byte outside printable ASCII in a value a regex would see (JavaScript matches
-- UTF-16 code units, PCRE bytes), percent-decoding to a non-ASCII byte (UTF-8 validity is
-- JavaScript's to judge), a farm whose rules could not be translated, a regex error.
--
-- Portable Lua: runs on LuaJIT 2.1 (5.1) and Lua 5.3; no bit operators, no integer division.

local M = {}

local find, sub, byte, lower, char = string.find, string.sub, string.byte, string.lower, string.char
local tonumber = tonumber

local UNDECIDED = "undecided"

-- Is every byte of s printable ASCII (0x20-0x7e)?
local function printable(s)
  return not find(s, "[^\32-\126]")
end

-- decodeURIComponent for ASCII results: the decoded string, or false when malformed (URIError),
-- or nil when a %XX decodes to a byte >= 0x80 or the input has one (undecided).
local function decode_component(s)
  if find(s, "[\128-\255]") then return nil end
  if not find(s, "%", 1, true) then return s end
  local out, i, n = {}, 1, #s
  while i <= n do
    local p = find(s, "%", i, true)
    if not p then
      out[#out + 1] = sub(s, i)
      break
    end
    out[#out + 1] = sub(s, i, p - 1)
    local hex = sub(s, p + 1, p + 2)
    if not find(hex, "^%x%x$") then return false end
    local b = tonumber(hex, 16)
    if b >= 128 then return nil end
    out[#out + 1] = char(b)
    i = p + 3
  end
  return table.concat(out)
end
M.decode_component = decode_component

-- farms/farm.ts splitHostPort: lower-case host and optional port (IPv6 in brackets), as the
-- regex /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/ splits them (its first alternative tried first).
local function split_host_port(value)
  -- JavaScript trim() of an ASCII string: tab, LF, VT, FF, CR and space.
  local v = lower((value:gsub("^[\t\n\11\12\r ]+", ""):gsub("[\t\n\11\12\r ]+$", "")))
  local function port_of(rest)
    if rest == "" then return true, nil end
    local port = rest:match("^:(%d*)$")
    if not port then return false end
    return true, port ~= "" and port or nil
  end
  if sub(v, 1, 1) == "[" then
    local close = find(v, "]", 2, true)
    if close then
      local ok, port = port_of(sub(v, close + 1))
      if ok then return sub(v, 1, close), port end
    end
  end
  local host = v:match("^[^:]*")
  local ok, port = port_of(sub(v, #host + 1))
  if ok then return host, port end
  return v, nil
end
M.split_host_port = split_host_port

-- The decoded document path's problem (cache/doc-path.ts handleProblem), or nil.
local function handle_problem(d)
  if sub(d, 1, 1) ~= "/" then return "path is not absolute" end
  if find(d, "\\", 1, true) then return "backslash in path" end
  if find(d, "\0", 1, true) then return "NUL byte in path" end
  if find(d, "[\1-\31\127]") then return "control character in path" end
  -- segments after the leading "/"
  local segs, start = {}, 2
  while true do
    local slash = find(d, "/", start, true)
    if not slash then
      segs[#segs + 1] = sub(d, start)
      break
    end
    segs[#segs + 1] = sub(d, start, slash - 1)
    start = slash + 1
  end
  for i = 1, #segs do
    local s = segs[i]
    if s == ".." or s == "." then return '"' .. s .. '" segment in path' end
    if s == "" and i < #segs then return "empty segment in path" end
  end
  return nil
end

-- cache/doc-path.ts toDocPath: { ok = docPath } or { reason = ... } or nil (undecided).
local function to_doc_path(raw)
  if sub(raw, 1, 1) ~= "/" then return { reason = "path is not absolute" } end
  local l = lower(raw)
  if find(l, "%2f", 1, true) or find(l, "%5c", 1, true) then return { reason = "encoded slash in path" } end
  local decoded = decode_component(raw)
  if decoded == nil then return nil end
  if decoded == false then return { reason = "malformed percent-encoding" } end
  local problem = handle_problem(decoded)
  if problem then return { reason = problem } end
  return { ok = decoded }
end
M.to_doc_path = to_doc_path

-- cache/doc-path.ts isInternalName
local function is_internal(doc, tmp_marker)
  local base = doc:match("[^/]*$")
  if base == ".stat" then return true end
  if sub(base, -2) == ".h" or sub(base, -4) == ".ttl" then return true end
  return find(doc, "/" .. tmp_marker, 1, true) ~= nil
end

-- farms/sling-url.ts decomposeSlingUrl
local function sling(p)
  local dot = find(p, ".", 1, true)
  if not dot then return { path = p, selectors = "", extension = "", suffix = "" } end
  local slash = find(p, "/", dot, true)
  local tail = sub(p, dot + 1, slash and slash - 1 or #p)
  local ext, selectors
  local last = tail:match("^.*()%.")
  if last then
    selectors, ext = sub(tail, 1, last - 1), sub(tail, last + 1)
  else
    selectors, ext = "", tail
  end
  return { path = sub(p, 1, dot - 1), selectors = selectors, extension = ext, suffix = slash and sub(p, slash) or "" }
end
M.sling = sling

-- cache/policy.ts queryParamNames, each name decoded as decodeURIComponent(name with + as space)
-- (the raw name when malformed); nil when a name cannot be decided here.
local function query_param_names(q)
  local names = {}
  for part in (q .. "&"):gmatch("([^&]*)&") do
    if part ~= "" then
      local name = part:match("^[^=]*")
      local d = decode_component((name:gsub("%+", " ")))
      if d == nil then return nil end
      if d == false then d = name end
      names[#names + 1] = d
    end
  end
  return names
end

-- A compiled rule value: a list of regexes (any of them). true/false, or nil when undecided.
local function value_matches(rx, patterns, s)
  if not printable(s) then return nil end
  for i = 1, #patterns do
    local m = rx(s, patterns[i])
    if m == nil then return nil end
    if m then return true end
  end
  return false
end

-- farms/match.ts decide: the last item that matches decides; no match = deny.
local function decide(rx, rules, test)
  for i = #rules, 1, -1 do
    local m = test(rules[i])
    if m == nil then return nil end
    if m then return rules[i].allow end
  end
  return false
end

local function path_rules(rx, rules, doc)
  return decide(rx, rules, function(rule) return value_matches(rx, rule.re, doc) end)
end

-- farms/filter.ts FILTER_KEYS, in their order (`query` last, apart: it needs a query string)
local FILTER_KEYS = { "method", "url", "path", "extension", "selectors", "suffix" }

-- farms/filter.ts: every key an item gives must match; `query` only when the URL has one.
local function filter_allows(rx, filter, input)
  if filter == nil then return true end
  return decide(rx, filter, function(rule)
    local m = rule.match
    for k = 1, #FILTER_KEYS do
      local key = FILTER_KEYS[k]
      if m[key] then
        local r = value_matches(rx, m[key], input[key])
        if r ~= true then return r end
      end
    end
    if m.query then
      if input.query == nil then return false end
      local r = value_matches(rx, m.query, input.query)
      if r ~= true then return r end
    end
    return true
  end)
end

-- cache/policy.ts lastSegmentHasExtension: a dot in the last segment that is not its first character
local function last_segment_has_extension(doc)
  local segment = doc:match("[^/]*$")
  local dot = find(segment, ".", 1, true)
  return dot ~= nil and dot > 1
end

-- cache/policy.ts isCacheable: true, or a reason string, or nil (undecided).
local function cacheable(rx, farm, method, doc, query, authorized)
  if method ~= "GET" and method ~= "HEAD" then return "request needed to be a GET or HEAD" end
  if sub(doc, -1) == "/" then return "request URL has a trailing slash" end
  if not last_segment_has_extension(doc) then return "request URL is missing extension" end
  if query ~= nil and query ~= "" then
    local names = query_param_names(query)
    if names == nil then return nil end
    for i = 1, #names do
      local ignored = decide(rx, farm.ignoreUrlParams, function(rule) return value_matches(rx, rule.re, names[i]) end)
      if ignored == nil then return nil end
      if not ignored then return "request contained a query string" end
    end
  end
  if not farm.allowAuthorized and authorized then return "request contains authorization" end
  local allowed = path_rules(rx, farm.cacheRules, doc)
  if allowed == nil then return nil end
  if not allowed then return "request URL is missing in cache rules" end
  return true
end

-- cache/stat-files.ts statLookupOrder: folders whose .stat may govern doc, nearest first.
local function stat_dirs(doc, level)
  local segs = {}
  for seg in doc:gmatch("[^/]+") do segs[#segs + 1] = seg end
  segs[#segs] = nil
  local n = #segs
  if n > level then n = level end
  local out = {}
  for l = n, 0, -1 do
    out[#out + 1] = "/" .. table.concat(segs, "/", 1, l)
  end
  return out
end
M.stat_dirs = stat_dirs

-- farms/select.ts selectFarm: the farm, false (no farm), or nil (undecided).
local function select_farm(rx, config, host)
  if host == nil or host == "" then return false end
  if not config.hostsDecidable then return nil end
  local h, port = split_host_port(host)
  for f = 1, #config.farms do
    local farm = config.farms[f]
    for i = 1, #farm.hosts do
      local m = farm.hosts[i]
      if m.port == nil or m.port == port then
        local r = value_matches(rx, m.re, h)
        if r == nil then return nil end
        if r then return farm end
      end
    end
  end
  return false
end

--- The route of a request (serve/route.ts routeRequest):
--   { verdict = "no-farm" | "bad-path" | "internal" | "filtered" | "pass" | "cache" | "undecided",
--     farm, rawPath, query, docPath, reason, statDirs, invalidates }
-- rx(subject, pcre) -> true | false | nil (error): the server's PCRE.
function M.route(config, rx, method, host, url, authorized)
  local q = find(url, "?", 1, true)
  local raw = q and sub(url, 1, q - 1) or url
  local query = q and sub(url, q + 1) or nil
  local route = { rawPath = raw, query = query }
  local farm = select_farm(rx, config, host)
  if farm == nil then route.verdict = UNDECIDED; route.why = "host"; return route end
  if farm == false then route.verdict = "no-farm"; return route end
  route.farm = farm
  if not farm.decidable then route.verdict = UNDECIDED; route.why = "farm rules"; return route end
  local mapped = to_doc_path(raw)
  if mapped == nil then route.verdict = UNDECIDED; route.why = "path"; return route end
  if mapped.reason then route.verdict = "bad-path"; route.reason = mapped.reason; return route end
  local doc = mapped.ok
  route.docPath = doc
  if is_internal(doc, config.tmpMarker) then route.verdict = "internal"; return route end
  local ok = cacheable(rx, farm, method, doc, query, authorized)
  if ok == nil then route.verdict = UNDECIDED; route.why = "cacheable"; return route end
  -- farms/filter.ts filterInput
  local s = sling(doc)
  s.url = doc
  s.method = method
  s.query = query
  local allowed = filter_allows(rx, farm.filter, s)
  if allowed == nil then route.verdict = UNDECIDED; route.why = "filter"; return route end
  if not allowed then route.verdict = "filtered"; return route end
  if ok ~= true then route.verdict = "pass"; route.reason = ok; return route end
  route.verdict = "cache"
  route.statDirs = stat_dirs(doc, farm.statfileslevel)
  local inv = path_rules(rx, farm.invalidate, doc)
  if inv == nil then route.verdict = UNDECIDED; route.why = "invalidate"; return route end
  route.invalidates = inv
  return route
end

-- cache/policy.ts hasAuthCookie: a `login-token` or `authorization` cookie (name trimmed as
-- JavaScript trims; a header value is Latin-1 there, so NBSP (0xa0) is whitespace too).
function M.has_auth_cookie(cookie)
  if cookie == nil or cookie == "" then return false end
  for part in (cookie .. ";"):gmatch("([^;]*);") do
    local name = part:match("^[^=]*")
    name = name:gsub("^[\t\n\11\12\r \160]+", ""):gsub("[\t\n\11\12\r \160]+$", "")
    name = lower(name)
    if name == "login-token" or name == "authorization" then return true end
  end
  return false
end

-- cache/stat-files.ts freshness: "fresh", "stale-stat" or "stale-ttl".
function M.freshness(file_ms, stat_ms, invalidates, grace_ms, ttl_ms, now)
  if ttl_ms ~= nil and now >= ttl_ms then return "stale-ttl" end
  if invalidates and stat_ms ~= nil and stat_ms >= file_ms and now - stat_ms >= grace_ms then return "stale-stat" end
  return "fresh"
end

return M
