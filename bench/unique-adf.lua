-- wrk script: posts the ADF alert template with a run id unique to each
-- request, so that every request opens a new ticket (the costliest path).
local template
local thread_id = 0
local counter = 0
local duplicate_every = tonumber(os.getenv("DUPLICATE_EVERY") or "0")
-- several wrk processes (one per replica) keep their run ids apart
local instance = os.getenv("WRK_INSTANCE") or "0"

function setup(thread)
  thread_id = thread_id + 1
  thread:set("id", thread_id)
end

function init(args)
  local file = assert(io.open(os.getenv("ALERT_TEMPLATE"), "r"))
  template = file:read("*a")
  file:close()
end

function request()
  counter = counter + 1
  local n = counter
  if duplicate_every > 0 and counter % duplicate_every == 0 then n = counter - 1 end
  local run_id = string.format("bench-%d-%s-%d-%d", os.time(), instance, id, n)
  local body = template:gsub("RUN_ID_PLACEHOLDER", run_id)
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, body)
end
