#!/usr/bin/env ohm
-- threshold-audit.lua: check every device's alarm thresholds against a
-- policy, for cron.
--
--   ohm threshold-audit.lua [--policy FILE] [--timeout SECONDS] [DEVICE...]
--
-- DEVICE is an inventory name or a URI; with none, every device of the
-- inventory. The policy is a Lua file returning a list of rules
--   { var = "LUA PATTERN", min = N, max = N }
-- each threshold variable (a name ending in .low.critical, .high.critical,
-- .low.warning or .high.warning) that matches a rule's pattern must lie in
-- [min, max]; also every low threshold must be below its high one. Without
-- --policy the built-in policy below (230 V, 16 A, a machine room) applies.
-- Prints one CSV line per finding:
--   device,variable,value,problem
-- Exit status: 0 all compliant, 1 a device could not be read (reported on
-- stderr; the others are still audited), 3 some threshold is out of policy.

local DEFAULT_POLICY = {
  { var = "^input%.L%d%-N%.voltage%.low%.critical$", min = 180, max = 215 },
  { var = "^input%.L%d%-N%.voltage%.high%.critical$", min = 245, max = 265 },
  { var = "^input%.L%d%.current%.high%.critical$", min = 1, max = 16 },
  { var = "^input%.L%d%.current%.low%.critical$", min = 0, max = 1 },
  { var = "^ambient%.?%d?%.temperature%.high%.critical$", min = 25, max = 45 },
  { var = "^ambient%.?%d?%.temperature%.low%.critical$", min = 0, max = 18 },
  { var = "^ambient%.?%d?%.humidity%.high%.critical$", min = 50, max = 90 },
  { var = "^ambient%.?%d?%.humidity%.low%.critical$", min = 0, max = 30 },
}

local S = require("ohm.script").new("threshold-audit",
  "[--policy FILE] [--timeout SECONDS] [DEVICE...]")

local function load_policy(path)
  local chunk, err = loadfile(path, "t", {})
  if not chunk then S:usage("policy: " .. err) end
  local good, rules = pcall(chunk)
  if not good or type(rules) ~= "table" then
    S:usage("policy " .. path .. ": must return a list of rules")
  end
  for i, r in ipairs(rules) do
    if type(r) ~= "table" or type(r.var) ~= "string" or
       type(r.min) ~= "number" or type(r.max) ~= "number" then
      S:usage(string.format("policy %s: rule %d needs var (string), min and max", path, i))
    end
  end
  return rules
end

local OPTIONS = {
  policy = function(o, v)
    if not v then return "--policy needs a file" end
    o.policy = load_policy(v)
  end,
}

-- Findings {var, value, problem} for one device's values.
local function audit(vals, policy)
  local out = {}
  local names = {}
  for name in pairs(vals) do
    if S.is_threshold(name) then names[#names + 1] = name end
  end
  table.sort(names)
  for _, name in ipairs(names) do
    local v = vals[name]
    for _, r in ipairs(policy) do
      if type(v) == "number" and name:match(r.var) and (v < r.min or v > r.max) then
        out[#out + 1] = { name, v, string.format("outside %g..%g", r.min, r.max) }
      end
    end
    local high = name:match("^(.*)%.low%.(%a+)$")
    if high then
      local kind = name:match("%.low%.(%a+)$")
      local hv = vals[high .. ".high." .. kind]
      if type(v) == "number" and type(hv) == "number" and v >= hv then
        out[#out + 1] = { name, v, string.format("not below %s.high.%s (%g)",
          high, kind, hv) }
      end
    end
  end
  return out
end

local function main(...)
  local o, devices = S:parse_args({ ... }, "check alarm thresholds against a policy",
    OPTIONS, { policy = DEFAULT_POLICY })
  local failed, findings = 0, 0
  io.write("device,variable,value,problem\n")
  for _, name in ipairs(S:devices(devices)) do
    local vals = S:read(name, o, function(dev) return dev:get() end)
    if not vals then
      failed = failed + 1
    else
      for _, f in ipairs(audit(vals, o.policy)) do
        findings = findings + 1
        S.row(ohm.redact(name), f[1], f[2], f[3])
      end
    end
  end
  io.stdout:flush()
  if failed > 0 then os.exit(1) end
  if findings > 0 then os.exit(3) end
end

main(...)
