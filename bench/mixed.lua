-- wrk script: the mixed workload, per request at random: 70% feedback creates (distinct
-- message ids, sessions and end users, over several assistants), 20% list pages, 5% thumbs
-- on logged replies (a new end user each), 5% review decisions (each seeded pending
-- feedback decided once; once they are all decided, thumbs instead).
-- Environment: THUMBS_BENCH_AUTH (base64 of sid:token), THUMBS_BENCH_DATA (the file written
-- by bench/seed_mixed.py), THUMBS_BENCH_SLICE ("k/n": this is wrk process k of n),
-- THUMBS_BENCH_MIX (the shares, below).
local counter = 0

function setup(thread)
  thread:set("thread_index", counter)
  counter = counter + 1
end

dofile(os.getenv("THUMBS_BENCH_DIR") .. "/feedback_create.lua")
local REASONS = { '"wrong address"', '"answered another question"', '"clear and short"', 'null' }

function init(args)
  local k, n = string.match(os.getenv("THUMBS_BENCH_SLICE") or "0/1", "(%d+)/(%d+)")
  slot = tonumber(k) * 1000 + thread_index  -- unique among every thread of every wrk
  local stride = tonumber(n) * 2              -- wrk -t2 in every process
  local first = tonumber(k) * 2 + thread_index
  assistants, messages, decisions = {}, {}, {}
  local d = 0
  for line in io.lines(os.getenv("THUMBS_BENCH_DATA")) do
    local kind, id, extra = string.match(line, "(%a) (%S+) ?(%S*)")
    if kind == "A" then
      table.insert(assistants, id)
    elseif kind == "M" then
      table.insert(messages, id)
    elseif kind == "D" then
      if d % stride == first then table.insert(decisions, { id, extra }) end
      d = d + 1
    end
  end
  math.randomseed(os.time() + slot)
  auth = "Basic " .. os.getenv("THUMBS_BENCH_AUTH")
  n_req, next_decision = 0, 1
end

local function json_headers(extra)
  local h = { ["Authorization"] = auth, ["Content-Type"] = "application/json" }
  if extra then for key, v in pairs(extra) do h[key] = v end end
  return h
end

-- THUMBS_BENCH_MIX: "creates/lists/thumbs/decisions" in percent (default 70/20/5/5)
local c, l, t = string.match(os.getenv("THUMBS_BENCH_MIX") or "70/20/5/5", "(%d+)/(%d+)/(%d+)/%d+")
local MIX_L = tonumber(c)
local MIX_T = MIX_L + tonumber(l)
local MIX_D = MIX_T + tonumber(t)

function request()
  n_req = n_req + 1
  local r = math.random(100)
  if r > MIX_D and next_decision <= #decisions then
    local fid, ftype = decisions[next_decision][1], decisions[next_decision][2]
    next_decision = next_decision + 1
    if ftype == "negative" and n_req % 2 == 0 then
      return wrk.format("POST", "/v1/Review/" .. fid .. "/Approve", json_headers(),
        '{"corrected_response": "Open Billing, then Refunds: the refund is listed there.", "note": "corrected"}')
    elseif ftype == "negative" then
      return wrk.format("POST", "/v1/Review/" .. fid .. "/Dismiss", json_headers(), '{"note": "not actionable"}')
    end
    return wrk.format("POST", "/v1/Review/" .. fid .. "/Approve", json_headers(), '{}')
  elseif r > MIX_T then
    local body = string.format('{"message_id": "%s", "feedback_type": "%s", "reason": %s}',
      messages[math.random(#messages)], math.random(2) == 1 and "positive" or "negative",
      REASONS[math.random(#REASONS)])
    return wrk.format("POST", "/v1/Thumbs",
      json_headers({ ["X-Thumbs-Identity"] = string.format("rater-%d-%d", slot, n_req) }), body)
  elseif r > MIX_L then
    local a = assistants[math.random(#assistants)]
    local path = "/v1/Assistants/" .. a .. "/Feedbacks?PageSize=50"
    if math.random(4) == 1 then
      path = path .. string.format("&SessionId=web-%d-%d", slot, math.random(300))
    end
    return wrk.format("GET", path, { ["Authorization"] = auth })
  end
  return feedback_create(auth, assistants[math.random(#assistants)],
    string.format("web-%d-%d", slot, n_req % 300), string.format("aia_msg_bench_%d_%d", slot, n_req),
    string.format("user-%d", math.random(5000)))
end

dofile(os.getenv("THUMBS_BENCH_DIR") .. "/result.lua")

-- THUMBS_BENCH_RATE: the requests per second this wrk process offers (0 or unset: as many as
-- its connections can send). Each connection waits a random time before its next request
-- (exponential, so requests arrive as a Poisson stream: a rate below the server's capacity
-- shows the latency production sees, where a saturating closed loop only shows the queue).
local rate = tonumber(os.getenv("THUMBS_BENCH_RATE") or "0")
if rate > 0 then
  function delay()
    local per_connection = rate / tonumber(os.getenv("THUMBS_BENCH_CONNECTIONS"))
    return -math.log(1 - math.random()) * 1000 / per_connection
  end
end
