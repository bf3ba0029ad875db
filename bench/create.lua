-- wrk script: the create benchmark's realistic load. Every request is a new feedback: a
-- distinct message id, or (every other request) the id of an assistant reply logged
-- beforehand through the API, one of thousands of sessions and end users
-- (X-Thumbs-Identity), on one of several assistants of several accounts.
-- Environment: THUMBS_BENCH_DATA, the file bench/run.py writes when it seeds a server:
--   K <account#> <base64 of sid:token>      one per account
--   A <account#> <assistant id>             one per assistant
--   M <assistant#> <message id>             the logged replies (assistant# counts A lines)
local counter = 0
local USERS = 5000  -- end users per account, each with up to 3 sessions

dofile(os.getenv("THUMBS_BENCH_DIR") .. "/feedback_create.lua")

function setup(thread)
  thread:set("thread_index", counter)
  counter = counter + 1
end

function init(args)
  keys, assistants, replies = {}, {}, {}
  for line in io.lines(os.getenv("THUMBS_BENCH_DATA")) do
    local kind, a, b = string.match(line, "(%a) (%S+) (%S+)")
    if kind == "K" then
      keys[tonumber(a)] = "Basic " .. b
    elseif kind == "A" then
      table.insert(assistants, { account = tonumber(a), id = b })
      table.insert(replies, {})
    elseif kind == "M" then
      table.insert(replies[tonumber(a)], b)
    end
  end
  run = os.time()  -- message ids stay distinct across the runs of one benchmark
  math.randomseed(run * 16 + thread_index)
  n_req = 0
end

function request()
  n_req = n_req + 1
  local i = math.random(#assistants)
  local assistant, logged = assistants[i], replies[i]
  local message_id
  if n_req % 2 == 0 and #logged > 0 then
    message_id = logged[math.random(#logged)]
  else
    message_id = string.format("aia_msg_load_%d_%d_%d", run, thread_index, n_req)
  end
  local user = math.random(USERS)
  return feedback_create(keys[assistant.account], assistant.id,
    string.format("web-%d-%d", user, math.random(3)), message_id, string.format("user-%d", user))
end

dofile(os.getenv("THUMBS_BENCH_DIR") .. "/result.lua")
