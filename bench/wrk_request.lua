-- wrk script for bench/create_intents.py.
--   BENCH_METHOD  GET or POST
--   BENCH_PATH    request path
--   BENCH_AUTH    value of the Authorization header (optional)
--   BENCH_BODY    POST body with one %s, replaced by a unique order id per request
-- done() prints one JSON line (latencies in microseconds) for the orchestrator to parse.

local method = os.getenv("BENCH_METHOD") or "GET"
local path = os.getenv("BENCH_PATH") or "/"
local auth = os.getenv("BENCH_AUTH")
local template = os.getenv("BENCH_BODY") or ""
local threads = {}
local counter = 0
local prefix = ""

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() + tid * 7919)
  prefix = string.format("B%d-%d-", tid, math.random(1, 1000000000))
end

local headers = { ["Content-Type"] = "application/json" }
if auth and auth ~= "" then headers["Authorization"] = auth end

request = function()
  if method == "GET" then
    return wrk.format("GET", path, headers)
  end
  counter = counter + 1
  return wrk.format("POST", path, headers, string.format(template, prefix .. counter))
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\nBENCH_JSON {"requests": %d, "duration_us": %d, "connect_errors": %d, "read_errors": %d, '
      .. '"write_errors": %d, "timeouts": %d, "non_2xx": %d, "p50": %d, "p95": %d, "p99": %d, '
      .. '"max": %d, "mean": %.1f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    latency.mean))
end
