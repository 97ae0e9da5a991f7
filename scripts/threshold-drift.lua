#!/usr/bin/env ohm
-- threshold-drift.lua: report alarm thresholds that drifted across the
-- inventory, for cron.
--
--   ohm threshold-drift.lua [--reference FILE] [--timeout SECONDS] [DEVICE...]
--
-- DEVICE is an inventory name or a URI; with none, every device of the
-- inventory. Each device's writable variables are read once
-- (ohm.config.save) and its thresholds (names ending in .low.critical,
-- .high.critical, .low.warning or .high.warning) compared:
--   --reference FILE  with a file of `ohm config save` (the devices of its
--                     driver; others are named on stderr and not compared)
--   without           with the value most devices of the same driver have
--                     (ties: the first device's)
-- Prints one CSV line per drifted threshold:
--   device,variable,value,reference
-- Exit status: 0 no drift, 1 a device could not be read (reported on
-- stderr; the others are still compared), 2 usage or a bad reference
-- file, 3 some threshold drifted. Fix drift with
-- `ohm config apply FILE DEVICE...`.

local S = require("ohm.script").new("threshold-drift",
  "[--reference FILE] [--timeout SECONDS] [DEVICE...]")

local OPTIONS = {
  reference = function(o, v)
    if not v then return "--reference needs a file" end
    local ref, err = ohm.config.load(v)
    if not ref then return err end
    o.reference = ref
  end,
}

local is_threshold = S.is_threshold

local function same(a, b)
  if type(a) == "number" and type(b) == "number" then
    return math.abs(a - b) <= 1e-9 * math.max(1, math.abs(a), math.abs(b))
  end
  return a == b
end

-- Per driver, each threshold's most common value among the snapshots.
local function majority(snaps)
  local counts, ref = {}, {}
  for _, s in ipairs(snaps) do
    local c = counts[s.driver] or {}
    counts[s.driver], ref[s.driver] = c, ref[s.driver] or { values = {} }
    for name, v in pairs(s.values) do
      if is_threshold(name) then
        local k = name .. "\0" .. tostring(v)
        c[k] = (c[k] or 0) + 1
        local r = ref[s.driver].values
        if r[name] == nil or c[k] > c[name .. "\0" .. tostring(r[name])] then
          r[name] = v
        end
      end
    end
  end
  return ref
end

-- Snapshots of the devices that could be read; the number that could not.
local function read_all(devices, o)
  local snaps, failed = {}, 0
  for _, name in ipairs(devices) do
    local snap = S:read(name, o, ohm.config.save)
    if snap then
      snap.name = ohm.redact(name)
      snaps[#snaps + 1] = snap
    else
      failed = failed + 1
    end
  end
  return snaps, failed
end

local function drift(snap, ref)
  local names, out = {}, 0
  for name in pairs(ref.values) do
    if is_threshold(name) then names[#names + 1] = name end
  end
  table.sort(names)
  for _, name in ipairs(names) do
    local v, want = snap.values[name], ref.values[name]
    if not same(v, want) then
      out = out + 1
      S.row(snap.name, name, v == nil and "" or v, want)
    end
  end
  return out
end

local function main(...)
  local o, devices = S:parse_args({ ... },
    "report thresholds that drifted across the inventory", OPTIONS)
  local snaps, failed = read_all(S:devices(devices), o)
  local refs = o.reference and { [o.reference.driver] = o.reference } or majority(snaps)
  local found = 0
  io.write("device,variable,value,reference\n")
  for _, s in ipairs(snaps) do
    local ref = refs[s.driver]
    if ref then
      found = found + drift(s, ref)
    else
      S:warn(s.name, ": driver ", s.driver, ", not the reference's (",
        o.reference.driver, "): not compared")
    end
  end
  if failed > 0 then
    S:warn(string.format("%d of %d devices could not be read", failed, #devices))
    os.exit(1)
  end
  os.exit(found > 0 and 3 or 0)
end

main(...)
