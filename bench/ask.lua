-- ask.lua - wrk script: POST /v1/ask with keep-alive, cycling through the
-- question mix, and one JSON line of figures at the end.
--
--   wrk -t2 -c32 -d10s -s bench/ask.lua http://127.0.0.1:PORT/v1/ask -- BODIES
--
-- BODIES holds one JSON request body a line ({"question": "..."}), made by
-- run.sh from bench/questions.txt.  Each wrk thread starts at its own place
-- in the list.  The path comes from the URL, so the same script drives
-- msfaq serve and the nginx ceiling.

local reqs = {}
local idx = 0
local counter = 0

function init(args)
   local path = args[1]
   if not path then
      error("ask.lua: give the bodies file after --")
   end
   local headers = { ["Content-Type"] = "application/json" }
   for line in io.lines(path) do
      if #line > 0 then
         reqs[#reqs + 1] = wrk.format("POST", nil, headers, line)
      end
   end
   if #reqs == 0 then
      error("ask.lua: " .. path .. " holds no body")
   end
   counter = counter + 1
   idx = (counter * 7919) % #reqs
end

function setup(thread)
   -- threads are set up one after another; give each its own offset
   counter = counter + 1
   thread:set("counter", counter)
end

function request()
   idx = idx % #reqs + 1
   return reqs[idx]
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"connect_errors":%d,"read_errors":%d,"write_errors":%d,' ..
      '"status_errors":%d,"timeouts":%d,"rps":%.1f,' ..
      '"lat_p50_us":%d,"lat_p90_us":%d,"lat_p99_us":%d,' ..
      '"lat_max_us":%d,"lat_mean_us":%.1f}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      summary.requests / (summary.duration / 1e6),
      latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max, latency.mean))
end
