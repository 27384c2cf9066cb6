-- wrk script for BenchmarkAgainstWrk: the forward-auth request that
-- botgate bench's loadgen.Rotation sends, token after token.
--   wrk -t2 -c16 -d5s -s auth.lua http://127.0.0.1:PORT/-/auth -- TOKENS_FILE 2
-- TOKENS_FILE has one "secret project-id" line per token; the last argument
-- is the number of threads (-t). Request n of the run carries token
-- n mod #tokens and asks for page n / #tokens of that token's project's
-- pipelines, so that the loop breaker sees a paginating client.
local count = 0
function setup(thread)
  thread:set("id", count)
  count = count + 1
end

local tokens = {}
local n, step = 0, 1

function init(args)
  for line in io.lines(args[1]) do
    local secret, tag = line:match("^(%S+)%s+(%S+)$")
    tokens[#tokens + 1] = { secret, tag }
  end
  step = tonumber(args[2])
  n = id
end

function request()
  local t = tokens[(n % #tokens) + 1]
  local page = math.floor(n / #tokens)
  n = n + step
  return wrk.format("GET", "/-/auth", {
    ["PRIVATE-TOKEN"] = t[1],
    ["X-Original-Method"] = "GET",
    ["X-Original-Uri"] = "/api/v4/projects/" .. t[2] .. "/pipelines?page=" .. page,
    ["User-Agent"] = "botgate-bench/1",
  })
end
