#!/usr/bin/env ohm
-- energy-report.lua: energy counters across the inventory, as CSV.
--
--   ohm energy-report.lua [--timeout SECONDS] [DEVICE...]
--
-- DEVICE is an inventory name or a URI; with none, every device of the
-- inventory (--config FILE before the script, $OHM_CONFIG, or
-- ~/.config/ohm/config.lua) that counts energy (UPSes and the like are
-- left out; a device named on the command line must count it). Writes to
-- stdout
--   device,phase,kwh,kvah,timestamp
-- one row per phase (L1, L2, L3) and one for the total, read in one
-- request per device. A device that fails is reported on stderr and the
-- others still run; the exit status is then 1. For cron:
--   0 6 * * *  ohm /usr/local/share/ohm/scripts/energy-report.lua >> energy.csv

local PHASES = { "L1", "L2", "L3" }

local S = require("ohm.script").new("energy-report", "[--timeout SECONDS] [DEVICE...]")

-- Never print a password that came in a URI.
local redact = ohm.redact

local function fmt(x) return string.format("%.3f", x) end

-- Whether the device's map has energy counters (no device round trip).
local function meters_energy(dev)
  for _, v in ipairs(dev:list()) do
    if v.name == "input.energy" then return true end
  end
  return false
end

-- The rows of one device, or nil, message; false when `skip_others` and
-- the device counts no energy (a UPS in the inventory is not a failure).
local function report(name, opts, skip_others)
  local dev, err = ohm.open(name, { timeout = opts.timeout })
  if not dev then return nil, err end
  if skip_others and not meters_energy(dev) then
    dev:close()
    return false
  end
  local vals, verr = dev:get()
  local stamp = os.date("!%Y-%m-%dT%H:%M:%SZ")
  dev:close()
  if not vals then return nil, verr end
  local rows = {}
  local function row(phase, kwh_var, kvah_var)
    local kwh, kvah = vals[kwh_var], vals[kvah_var]
    if type(kwh) ~= "number" or type(kvah) ~= "number" then
      error(string.format("%s: no %s/%s (not an energy meter?)", redact(name),
        kwh_var, kvah_var), 0)
    end
    rows[#rows + 1] = { redact(name), phase, fmt(kwh), fmt(kvah), stamp }
  end
  local good, e = pcall(function()
    for _, p in ipairs(PHASES) do
      row(p, "input." .. p .. ".energy", "input." .. p .. ".energy.apparent")
    end
    row("total", "input.energy", "input.energy.apparent")
  end)
  if not good then return nil, e end
  return rows
end

local function main(...)
  local opts, devices = S:parse_args({ ... }, "energy counters per phase as CSV")
  local whole_inventory = #devices == 0
  S:devices(devices)
  io.write("device,phase,kwh,kvah,timestamp\n")
  local failed, skipped = 0, 0
  for _, name in ipairs(devices) do
    local rows, err = report(name, opts, whole_inventory)
    if rows == false then
      skipped = skipped + 1 -- not an energy meter: nothing to report
    elseif rows then
      for _, r in ipairs(rows) do S.row(table.unpack(r)) end
      io.stdout:flush()
    else
      failed = failed + 1
      S:warn(err)
    end
  end
  if failed > 0 then
    S:warn(string.format("%d of %d devices failed", failed, #devices - skipped))
    os.exit(1)
  end
end

main(...)
