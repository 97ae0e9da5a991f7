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

local function usage(msg)
  io.stderr:write("threshold-audit: ", msg, "\n", "usage: ohm threshold-audit.lua",
    " [--policy FILE] [--timeout SECONDS] [DEVICE...]\n")
  os.exit(2)
end

local function load_policy(path)
  local chunk, err = loadfile(path, "t", {})
  if not chunk then usage("policy: " .. err) end
  local good, rules = pcall(chunk)
  if not good or type(rules) ~= "table" then
    usage("policy " .. path .. ": must return a list of rules")
  end
  for i, r in ipairs(rules) do
    if type(r) ~= "table" or type(r.var) ~= "string" or
       type(r.min) ~= "number" or type(r.max) ~= "number" then
      usage(string.format("policy %s: rule %d needs var (string), min and max", path, i))
    end
  end
  return rules
end

local function parse_args(argv)
  local o, devices, i = { policy = DEFAULT_POLICY }, {}, 1
  while i <= #argv do
    local a, v = argv[i], argv[i + 1]
    if a == "--policy" then
      if not v then usage("--policy needs a file") end
      o.policy, i = load_policy(v), i + 1
    elseif a == "--timeout" then
      o.timeout, i = tonumber(v), i + 1
      if not o.timeout or o.timeout <= 0 then usage("bad --timeout") end
    elseif a == "-h" or a == "--help" then
      usage("check alarm thresholds against a policy")
    elseif a:sub(1, 1) == "-" then
      usage("unknown option " .. a)
    else
      devices[#devices + 1] = a
    end
    i = i + 1
  end
  return o, devices
end

local redact = ohm.redact

local function is_threshold(name)
  return name:match("%.low%.critical$") or name:match("%.high%.critical$") or
    name:match("%.low%.warning$") or name:match("%.high%.warning$")
end

-- Findings {var, value, problem} for one device's values.
local function audit(vals, policy)
  local out = {}
  local names = {}
  for name in pairs(vals) do
    if is_threshold(name) then names[#names + 1] = name end
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

local function csv(s)
  s = tostring(s)
  if s:find('[,"\r\n]') then s = '"' .. s:gsub('"', '""') .. '"' end
  return s
end

local function main(...)
  local o, devices = parse_args({ ... })
  if #devices == 0 then
    local inv, err = ohm.devices()
    if not inv then io.stderr:write("threshold-audit: ", err, "\n"); os.exit(1) end
    for _, d in ipairs(inv) do devices[#devices + 1] = d.name end
  end
  if #devices == 0 then usage("no devices: give some or add them to the inventory") end
  local failed, findings = 0, 0
  io.write("device,variable,value,problem\n")
  for _, name in ipairs(devices) do
    local dev, err = ohm.open(name, { timeout = o.timeout })
    local vals
    if dev then
      vals, err = dev:get()
      dev:close()
    end
    if not vals then
      failed = failed + 1
      io.stderr:write("threshold-audit: ", err, "\n")
    else
      for _, f in ipairs(audit(vals, o.policy)) do
        findings = findings + 1
        io.write(csv(redact(name)), ",", csv(f[1]), ",", csv(f[2]), ",", csv(f[3]), "\n")
      end
    end
  end
  io.stdout:flush()
  if failed > 0 then os.exit(1) end
  if findings > 0 then os.exit(3) end
end

main(...)
