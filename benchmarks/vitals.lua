-- wrk script for benchmarks/bench_vitals.py: each request posts one reading to one of the
-- running sessions with a bearer token and a fresh Idempotency-Key, as a monitor gateway would.
-- Arguments: <token> <comma-separated session ids> <run label, so no key repeats across runs>.
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads)
  table.insert(threads, thread)
end

function init(args)
  token, run = args[1], args[3]
  sessions = {}
  for id in string.gmatch(args[2], "%d+") do table.insert(sessions, id) end
  sent = 0
end

function request()
  sent = sent + 1
  local session = sessions[(sent + thread_id) % #sessions + 1]
  local headers = {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = string.format("bench-%s-%d-%d", run, thread_id, sent),
  }
  local body = '{"sbp_mmhg":124,"dbp_mmhg":80,"hr_bpm":74,"spo2_percent":98,' ..
               '"rr_per_min":14,"rass":0}'
  return wrk.format("POST", "/api/v1/infusions/sessions/" .. session .. "/vitals", headers, body)
end

function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d errors=%d non2xx=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout, summary.errors.status, latency:percentile(50),
    latency:percentile(99)))
end
