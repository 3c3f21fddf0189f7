-- wrk script for farmgate's benchmark (bench/run.ts).
--   wrk ... -s bench/wrk/paths.lua URL -- PATHS_FILE MODE THREADS [SHARE]
-- MODE random: each request picks a path from PATHS_FILE at random (the page mix).
-- MODE seq:    thread i requests paths i, i+THREADS, ... and stops after SHARE responses
--              (a warm-up that touches every path once).
-- done() prints one line "WRKJSON {...}" (latencies in microseconds) that the runner parses.

local counter = 1

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

local reqs = {}
local mode = "random"
local idx, stride, share, seen = 0, 1, 0, 0

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then reqs[#reqs + 1] = wrk.format(nil, line) end
  end
  mode = args[2] or "random"
  local threads = tonumber(args[3] or "1")
  local id = tid or 1
  math.randomseed(id * 7919 + os.time())
  if mode == "seq" then
    idx = id - 1
    stride = threads
    share = tonumber(args[4] or "0")
    response = function(status, headers, body)
      seen = seen + 1
      if seen == share then
        -- wrk's main thread sleeps for -d regardless; the runner sends SIGINT once every
        -- thread has printed this line.
        io.write("WRKSEQDONE\n")
        io.flush()
        wrk.thread:stop()
      end
    end
  end
end

function request()
  if mode == "seq" then
    local i = idx % #reqs + 1
    idx = idx + stride
    return reqs[i]
  end
  return reqs[math.random(#reqs)]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
