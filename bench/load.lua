-- wrk script for bench/load.py. Arguments after `--`: the most requests a thread sends, and
-- the requests per second a thread paces itself to (0: as fast as its connections allow).
-- Paced, each request gets the next slot of a fixed schedule and waits for it; a request sent
-- more than 1 ms after its slot (every connection was still busy) is counted as late. Prints
-- one JSON line of figures at the end (latencies in microseconds, from sending to answer).

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } load_timespec;
  int clock_gettime(int clock, load_timespec *now);
]]
local clock = ffi.new("load_timespec")

local function now_ms()
  ffi.C.clock_gettime(1, clock) -- CLOCK_MONOTONIC
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  limit = tonumber(args[1]) or 0
  interval = (tonumber(args[2]) or 0) > 0 and 1000 / tonumber(args[2]) or 0
  seen, sent, late, latest = 0, 0, 0, 0
  codes = {}
end

function delay()
  if interval == 0 then
    return 0
  end
  local now = now_ms()
  slot = (slot or now) + interval
  local wait = slot - now
  if wait < -1 then
    late = late + 1
    latest = math.max(latest, -wait)
  end
  return math.max(0, wait)
end

function response(status, headers, body)
  seen = seen + 1
  local key = tostring(status)
  codes[key] = (codes[key] or 0) + 1
  if limit > 0 and seen >= limit then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local merged, late_sends, latest_ms = {}, 0, 0
  for _, thread in ipairs(threads) do
    for code, n in pairs(thread:get("codes") or {}) do
      merged[code] = (merged[code] or 0) + n
    end
    late_sends = late_sends + (thread:get("late") or 0)
    latest_ms = math.max(latest_ms, thread:get("latest") or 0)
  end
  local parts = {}
  for code, n in pairs(merged) do
    table.insert(parts, string.format('"%s": %d', code, n))
  end
  local e = summary.errors
  io.write(string.format(
    '{"duration_us": %d, "requests": %d, "p50_us": %d, "p90_us": %d, "p95_us": %d, ' ..
    '"p99_us": %d, "max_us": %d, "late_sends": %d, "latest_ms": %.1f, "errors": {"connect": ' ..
    '%d, "read": %d, "write": %d, "status": %d, "timeout": %d}, "codes": {%s}}\n',
    summary.duration, summary.requests, latency:percentile(50), latency:percentile(90),
    latency:percentile(95), latency:percentile(99), latency.max, late_sends, latest_ms,
    e.connect, e.read, e.write, e.status, e.timeout, table.concat(parts, ", ")))
end
