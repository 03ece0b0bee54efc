-- wrk script for the intake benchmark: an authenticated POST /webhook with a
-- Matillion-style body. Every request carries a new execution id, so the
-- service never answers "duplicate" and each one is a real durable commit.
-- 2xx replies are counted per thread; done() prints one line "WRKJSON {...}".
-- args: TOKEN RUN (RUN, 0..255, keeps ids of separate wrk runs apart)

local threads = {}

function setup(thread)
	table.insert(threads, thread)
	thread:set("tid", #threads)
end

local body_fmt = '{"event":"pipeline.execution.finished",' ..
	'"projectId":"3f1c9a52-7d4e-4b8a-9c61-0e2f5a7b8c90",' ..
	'"pipelineExecutionId":"%s","pipelineName":"Finance/load_dwh.orch.yaml",' ..
	'"environmentName":"prod","status":"FAILED","trigger":"SCHEDULE",' ..
	'"startedAt":"2024-05-01T02:00:00.000Z","finishedAt":"2024-05-01T02:14:07.000Z",' ..
	'"message":"Pipeline failed","user":"scheduler@example.com"}'

function init(args)
	token = args[1] or ""
	run = tonumber(args[2] or "0") % 256
	counter = 0
	ok = 0
	bad = 0
	hdrs = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }
end

function request()
	counter = counter + 1
	local id = string.format("%02x%02x0000-0000-4000-8000-%012d", run, tid, counter)
	return wrk.format("POST", "/webhook", hdrs, string.format(body_fmt, id))
end

function response(status, headers, body)
	if status >= 200 and status < 300 then
		ok = ok + 1
	else
		bad = bad + 1
	end
end

function done(summary, latency, requests)
	local n_ok, n_bad = 0, 0
	for _, t in ipairs(threads) do
		n_ok = n_ok + t:get("ok")
		n_bad = n_bad + t:get("bad")
	end
	local e = summary.errors
	io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"ok":%d,"bad":%d,' ..
		'"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d,' ..
		'"lat_p50_us":%d,"lat_p90_us":%d,"lat_p99_us":%d,"lat_max_us":%d}\n',
		summary.requests, summary.duration, n_ok, n_bad, e.connect, e.read, e.write,
		e.status, e.timeout, latency:percentile(50), latency:percentile(90),
		latency:percentile(99), latency.max))
end
