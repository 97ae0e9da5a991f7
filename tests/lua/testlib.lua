-- Test helpers for tests/lua/*.lua: tests/run.sh runs
--   ohm tests/lua/testlib.lua FILE
-- which defines ok/eq/near/raises/skip as globals, runs FILE, prints
-- "ok - NAME" / "not ok - NAME" lines and exits 1 if any failed (or FILE
-- raised an error).
local failed, count = 0, 0

local function report(cond, name, detail)
  count = count + 1
  print((cond and "ok - " or "not ok - ") .. name)
  if not cond then
    failed = failed + 1
    if detail then
      for line in tostring(detail):gmatch("[^\n]+") do print("    " .. line) end
    end
  end
  return cond
end

function ok(cond, name, detail) return report(not not cond, name, detail) end

function eq(actual, expected, name)
  return report(actual == expected, name, string.format(
    "expected: %s (%s)\nactual:   %s (%s)", tostring(expected),
    type(expected), tostring(actual), type(actual)))
end

function near(actual, expected, eps, name)
  return report(type(actual) == "number" and math.abs(actual - expected) <= eps,
    name, string.format("expected %s +- %s, got %s", expected, eps,
    tostring(actual)))
end

-- fn(...) must raise an error whose message contains pattern (a Lua
-- pattern, optional).
function raises(pattern, name, fn, ...)
  local good, err = pcall(fn, ...)
  if good then return report(false, name, "no error raised") end
  return report(not pattern or tostring(err):find(pattern) ~= nil, name,
    "error: " .. tostring(err))
end

function skip(name, why) print("skip - " .. name .. " (" .. why .. ")") end

local file = arg[1]
local me = arg[0]
if not file or file:match("testlib%.lua$") then
  io.stderr:write("usage: ohm tests/lua/testlib.lua TEST.lua [ARG...]\n")
  os.exit(2)
end

local chunk, err = loadfile(file)
if not chunk then
  report(false, file .. " loads", err)
else
  local good, msg = xpcall(chunk, debug.traceback, table.unpack(arg, 2))
  if not good then report(false, file .. " ran to the end", msg) end
end
if count == 0 then report(false, file .. " ran no test") end
os.exit(failed == 0 and 0 or 1)
