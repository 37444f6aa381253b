-- wrk script: every request asks for a short code from a file (one code a line).
--
--   wrk ... -s codes.lua URL -- CODES_FILE [METHOD] [ORDER]
--
-- METHOD is GET (default) or HEAD (resolves without recording a click).
-- ORDER is "random" (default: a uniformly random code per request) or "cycle"
-- (each thread walks the file in order, the second thread of wrk -t2 from the
-- middle, e.g. to warm a cache with every code).
-- Requests are formatted once in init(), so the per-request Lua cost is one
-- random number and a table lookup.

local requests = {}
local order = "random"
local next_index = 1
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_id", thread_count)
end

function init(args)
  local file, method = args[1], args[2] or "GET"
  order = args[3] or "random"
  assert(file, "usage: -s codes.lua URL -- CODES_FILE [GET|HEAD] [random|cycle]")
  for code in io.lines(file) do
    if code ~= "" then
      requests[#requests + 1] = wrk.format(method, "/" .. code)
    end
  end
  assert(#requests > 0, "no codes in " .. file)
  -- With "cycle", the two threads of wrk -t2 start half the file apart.
  next_index = ((thread_id or 1) - 1) * math.floor(#requests / 2) % #requests + 1
  math.randomseed(os.time() * 1000 + (thread_id or 0))
end

function request()
  if order == "cycle" then
    local r = requests[next_index]
    next_index = next_index % #requests + 1
    return r
  end
  return requests[math.random(#requests)]
end
