-- wrk script for bench/sms_bench.py: posts pre-signed Twilio SMS webhooks, each once.
--
--   wrk -t2 -c64 -d15s -s bench/sms_load.lua http://127.0.0.1:PORT -- REQUESTS_FILE THREADS
--
-- REQUESTS_FILE holds one request a line: path, X-Twilio-Signature and the urlencoded
-- form, separated by tabs. Thread n of THREADS sends lines n, n+THREADS, ... in order
-- and stops when it has sent its share, so no text is ever delivered twice. The run's
-- figures are printed as one JSON line that sms_bench.py reads.

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  threads[#threads + 1] = thread
end

local requests = {}
local sent = 0
ran_out = false

function init(args)
  local threads = tonumber(args[2])
  local n = 0
  for line in io.lines(args[1]) do
    if n % threads == id then
      local path, signature, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
      requests[#requests + 1] = wrk.format("POST", path, {
        ["Content-Type"] = "application/x-www-form-urlencoded",
        ["X-Twilio-Signature"] = signature,
      }, body)
    end
    n = n + 1
  end
end

function request()
  sent = sent + 1
  if sent >= #requests then
    -- wrk still counts the whole duration, so a rate after this would be too low.
    ran_out = true
    wrk.thread:stop()
  end
  return requests[math.min(sent, #requests)]
end

function done(summary, latency, requests)
  local errors = summary.errors
  local short = false
  for _, thread in ipairs(threads) do
    short = short or thread:get("ran_out")
  end
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"connect_errors": %d, "read_errors": %d, "write_errors": %d, "status_errors": %d, ' ..
    '"timeouts": %d, "ran_out": %s}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    tostring(short)))
end
