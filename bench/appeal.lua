-- wrk script for bench/intake.sh: POST one realistic appeal per request to
-- /api/v1/appeals and count the answers.
--
--   wrk -t2 -c64 -d23s --timeout 30s --latency -s bench/appeal.lua \
--       http://127.0.0.1:PORT/api/v1/appeals -- BODY_FILE TOKEN POST_SECONDS
--
-- BODY_FILE     JSON body to post (default bench/appeal.json)
-- TOKEN         integrator bearer token (default bench-token-0123456789abcdef)
-- POST_SECONDS  how long to post appeals (default: all of wrk's -d)
-- COUNT         optional: appeals each wrk thread posts; once all of its COUNT have
--               been answered the thread stops and appends a line to DONE_FILE
--               (bench/outbox.sh waits for one line per thread, then stops wrk
--               with SIGINT: wrk itself only knows durations)
-- DONE_FILE     see COUNT
--
-- Why POST_SECONDS: wrk stops at -d without waiting for the requests in
-- flight, so up to one appeal per connection would be accepted by the gateway
-- (and reach Redis) without wrk ever counting its 202. The benchmark checks
-- XLEN against the count exactly, so after POST_SECONDS every connection is
-- parked (delay() returns a long pause) and the requests still in flight are
-- answered during the rest of -d (the grace). Nothing else is sent then, so
-- wrk's latency histogram holds appeal POSTs only.
--
-- Each wrk thread has its own Lua state: counters live in thread globals and
-- done() sums them through the threads collected in setup().

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clk_id, bench_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local ts = ffi.new("bench_timespec")
local function now()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) / 1e9
end

-- setup()/done() run in the main Lua state -------------------------------
local threads = {}

function setup(thread)
  thread:set("thread_no", #threads + 1)
  table.insert(threads, thread)
end

-- per-thread state ------------------------------------------------------------
accepted = 0     -- 202 answers
other = 0        -- any other status
sent = 0         -- appeal POSTs handed to wrk
statuses = {}    -- status code (as string) -> count, non-202 only
first_sent = 0   -- monotonic time of the first POST (0: none)
last_answer = 0  -- monotonic time of the last answer
sample_error = "" -- first non-202 body, cut short, for diagnosis

local req, deadline
local quota, done_file, finished
reserved = 0     -- requests let through by delay()
armed = 0        -- of those, not yet handed to wrk by request()

function init(args)
  local body_file = args[1] or "bench/appeal.json"
  local token = args[2] or "bench-token-0123456789abcdef"
  local f = assert(io.open(body_file, "rb"), "cannot open " .. body_file)
  local body = f:read("*a")
  f:close()
  local headers = {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/json",
    ["Accept-Language"] = "en",
  }
  req = wrk.format("POST", wrk.path, headers, body)
  local seconds = tonumber(args[3] or "")
  deadline = seconds and (now() + seconds) or math.huge
  quota = tonumber(args[4] or "")
  done_file = args[5]
end

-- wrk calls delay() before every request of a connection (also its first),
-- and request() once more at start only to check the script: count a POST
-- only after a delay() has let one through.
function delay()
  if now() >= deadline or (quota and reserved >= quota) then
    return 3600 * 1000 -- parked until wrk stops
  end
  armed = armed + 1
  reserved = reserved + 1
  return 0
end

function request()
  if armed > 0 then
    armed = armed - 1
    sent = sent + 1
    if first_sent == 0 then first_sent = now() end
  end
  return req
end

function response(status, headers, body)
  last_answer = now()
  if status == 202 then
    accepted = accepted + 1
  else
    other = other + 1
    local k = tostring(status)
    statuses[k] = (statuses[k] or 0) + 1
    if sample_error == "" then
      sample_error = k .. " " .. string.sub(body or "", 1, 300)
    end
  end
  if quota and not finished and accepted + other >= quota then
    finished = true
    if done_file then
      local f = assert(io.open(done_file, "a"))
      f:write("done\n")
      f:close()
    end
    wrk.thread:stop()
  end
end

-- summary ---------------------------------------------------------------------
function done(summary, latency, requests)
  local acc, oth, snt = 0, 0, 0
  local t0, t1 = math.huge, 0
  local by_status, sample = {}, ""
  for _, t in ipairs(threads) do
    acc = acc + t:get("accepted")
    oth = oth + t:get("other")
    snt = snt + t:get("sent")
    local fs, la = t:get("first_sent"), t:get("last_answer")
    if fs > 0 and fs < t0 then t0 = fs end
    if la > t1 then t1 = la end
    for k, v in pairs(t:get("statuses")) do
      by_status[k] = (by_status[k] or 0) + v
    end
    if sample == "" then sample = t:get("sample_error") end
  end
  local unanswered = snt - acc - oth
  local elapsed = (t1 > t0) and (t1 - t0) or 0
  local rate = elapsed > 0 and acc / elapsed or 0
  local p50 = latency:percentile(50.0) / 1000
  local p99 = latency:percentile(99.0) / 1000
  local e = summary.errors

  local parts = {}
  for k, v in pairs(by_status) do table.insert(parts, k .. "=" .. v) end
  table.sort(parts)

  io.write("\n--- appeal POSTs (bench/appeal.lua) ---\n")
  io.write(string.format("accepted (202):   %d\n", acc))
  io.write(string.format("non-202:          %d%s\n", oth,
    #parts > 0 and ("  (" .. table.concat(parts, ", ") .. ")") or ""))
  if sample ~= "" then
    io.write("first non-202:    " .. sample:gsub("%s+", " ") .. "\n")
  end
  io.write(string.format("sent / unanswered: %d / %d\n", snt, unanswered))
  io.write(string.format("socket errors:    connect %d, read %d, write %d, timeout %d\n",
    e.connect, e.read, e.write, e.timeout))
  io.write(string.format("accepted/s:       %.1f  (over %.2f s of posting)\n", rate, elapsed))
  io.write(string.format("latency p50:      %.2f ms\n", p50))
  io.write(string.format("latency p99:      %.2f ms\n", p99))
  -- one machine-readable line for bench/intake.sh
  io.write(string.format(
    "@result accepted=%d non202=%d sent=%d unanswered=%d rate=%.1f seconds=%.3f p50_ms=%.2f p99_ms=%.2f errors=%d\n",
    acc, oth, snt, unanswered, rate, elapsed, p50, p99,
    e.connect + e.read + e.write + e.timeout))
end
