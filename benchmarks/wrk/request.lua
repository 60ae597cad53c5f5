-- One wrk script for every phase; what to send comes from the environment:
--   BENCH_TOKEN        access token (sent as "Authorization: Bearer ...")
--   BENCH_METHOD       GET (default) or POST
--   BENCH_BODY         JSON body for POST (sent as application/json)
--   BENCH_IDEMPOTENCY  "1": a fresh random UUID v4 Idempotency-Key on every request
--   BENCH_IF_NONE_MATCH  an ETag sent as If-None-Match (a conditional GET: the 304 paths)
-- done() prints one line "BENCH_JSON {...}" with requests, duration, errors, status
-- counts and latency percentiles (microseconds), which run.py reads.

local token = os.getenv("BENCH_TOKEN") or ""
local method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
local idempotency = os.getenv("BENCH_IDEMPOTENCY") == "1"
local if_none_match = os.getenv("BENCH_IF_NONE_MATCH") or ""

local threads = {}

function setup(thread)
  thread:set("thread_no", #threads + 1)
  table.insert(threads, thread)
end

local hex = "0123456789abcdef"

local function uuid4()
  local out = {}
  for i = 1, 36 do
    if i == 9 or i == 14 or i == 19 or i == 24 then
      out[i] = "-"
    elseif i == 15 then
      out[i] = "4"
    elseif i == 20 then
      local r = math.random(8, 11)
      out[i] = hex:sub(r + 1, r + 1)
    else
      local r = math.random(0, 15)
      out[i] = hex:sub(r + 1, r + 1)
    end
  end
  return table.concat(out)
end

function init(args)
  math.randomseed(os.time() * 1000 + (thread_no or 0) * 7919 + math.floor(os.clock() * 1e6))
  statuses = {}
  wrk.method = method
  wrk.headers["Authorization"] = "Bearer " .. token
  if if_none_match ~= "" then
    wrk.headers["If-None-Match"] = if_none_match
  end
  if body and body ~= "" then
    wrk.body = body
    wrk.headers["Content-Type"] = "application/json"
  end
end

function request()
  if idempotency then
    wrk.headers["Idempotency-Key"] = uuid4()
  end
  return wrk.format()
end

function response(status, headers, resp_body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    local s = thread:get("statuses")
    for code, n in pairs(s) do
      counts[code] = (counts[code] or 0) + n
    end
  end
  local parts = {}
  for code, n in pairs(counts) do
    table.insert(parts, string.format('"%d":%d', code, n))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"statuses":{%s},"latency_us":{"p50":%d,"p90":%d,"p99":%d,"mean":%.1f,"max":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    table.concat(parts, ","),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max))
end
