-- cps-bm100: the CyberPower BM100 battery manager (seed 001) over SNMP,
-- CPS-MIB v2.9 subtree battmgr (DESIGN.md "Driver cps-bm100"): up to 4
-- strings of 40 blocks, a probe on each measuring voltage, temperature
-- and internal resistance. The probe tables are indexed by probe number;
-- a block's string S and position B come from the row's own columns
-- .3 (string) and .4 (battery), never from the probe number. The BM100
-- speaks SNMPv1 and v3, not v2c: v1 (GETNEXT) unless the URI says
-- version=.

local BM = ".1.3.6.1.4.1.3808.1.1.7."
local vars = {}

local function obj(name, oid, desc, extra)
  local v = { name = name, oid = BM .. oid, desc = desc .. " (" .. oid .. ")" }
  for k, x in pairs(extra or {}) do v[k] = x end
  vars[#vars + 1] = v
end

local function text(name, oid, desc, rw)
  obj(name, oid, desc, { type = "string", access = rw and "rw" or nil })
end

-- bmIdent .1
text("device.model", "1.1.0", "model")
text("device.hardware", "1.2.0", "hardware revision")
text("device.firmware", "1.3.0", "firmware revision")
text("device.lcd.hardware", "1.4.0", "LCD hardware revision")
text("device.lcd.firmware", "1.5.0", "LCD firmware revision")
text("device.mfr.date", "1.6.0", "manufacture date")
text("device.serial", "1.7.0", "serial number")
text("device.description", "1.8.0", "name of the unit", true)
text("device.location", "1.9.0", "location of the unit",
     true)

-- bmProperty .2
obj("battery.strings.max", "2.1.0", "strings the unit can watch")
obj("battery.string.blocks.max", "2.2.0", "probes a string can have")
text("battery.probe.voltage.range", "2.3.0", "probes' input voltage range")
obj("battery.probe.rating", "2.4.0", "probe rating", {
  enum = { [1] = "unknown", [2] = "2V", [3] = "4V", [4] = "6V", [5] = "12V",
           [6] = "mixed" } })

-- bmConfig .3: every threshold writable, validated before it is sent
local function conf(name, n, scale, unit, lo, hi, desc, extra)
  local v = { scale = scale, unit = unit, access = "rw", min = lo, max = hi,
              type = "s32" }
  for k, x in pairs(extra or {}) do v[k] = x end
  obj(name, "3." .. n .. ".0", desc, v)
end
conf("battery.capacity", 1, 0.1, "Ah", 0, 6000, "battery capacity")
conf("battery.strings", 2, 1, "", 1, 4, "strings configured")
conf("battery.string.blocks", 3, 1, "", 1, 40, "probes per string")
conf("battery.block.voltage.low.critical", 4, 0.1, "V", 0, 20,
     "low voltage alarm, 0.1 V steps")
conf("battery.block.voltage.high.critical", 5, 0.1, "V", 0, 20,
     "high voltage alarm, 0.1 V steps")
conf("battery.string.voltage.difference.critical", 6, 0.1, "V", 0, 20,
     "voltage difference alarm within a string")
conf("battery.block.temperature.low.critical", 7, 0.1, "degC", -40, 80,
     "low temperature alarm")
conf("battery.block.temperature.high.critical", 8, 0.1, "degC", -40, 80,
     "high temperature alarm")
conf("battery.block.resistance.low.critical", 9, 0.01, "mOhm", 0, 600,
     "low resistance alarm")
conf("battery.block.resistance.high.critical", 10, 0.01, "mOhm", 0, 600,
     "high resistance alarm")
conf("battery.block.resistance.low.warning", 11, 0.01, "mOhm", 0, 600,
     "low resistance warning")
conf("battery.block.resistance.high.warning", 12, 0.01, "mOhm", 0, 600,
     "high resistance warning")
conf("battery.block.resistance.health.critical", 13, 1, "%", 101, 1000,
     "resistance health alarm, above 100 %")
conf("battery.block.resistance.health.warning", 14, 1, "%", 101, 1000,
     "resistance health warning, above 100 %")
conf("battery.block.voltage.low.critical.fine", 15, 0.01, "V", 0, 20,
     "low voltage alarm, 10 mV steps")
conf("battery.block.voltage.high.critical.fine", 16, 0.01, "V", 0, 20,
     "high voltage alarm, 10 mV steps")
obj("battery.string.merge", "3.17.0", "strings merged", {
  access = "rw", enum = { [1] = "enabled", [2] = "disabled" } })

-- bmProbes .5
obj("battery.probes.connected", "5.1.0", "probes connected")
obj("battery.probes.configured", "5.2.0", "probes configured")

-- the probe tables: one entry per block of every string
local STATUS = { [1] = "good", [2] = "warning-low", [3] = "warning-high",
                 [4] = "critical-low", [5] = "critical-high" }
local function block(suffix, tab, col, desc, extra)
  local v = { name = "battery.string.{S}.block.{B}." .. suffix,
              entry = BM .. "5." .. tab .. ".1", column = col,
              index_columns = { 3, 4 },
              each = { { "S", 1, 4 }, { "B", 1, 40 } },
              desc = "string {S} block {B} " .. desc ..
                     " (5." .. tab .. ".1." .. col .. ")" }
  for k, x in pairs(extra or {}) do v[k] = x end
  vars[#vars + 1] = v
end
block("pack", 3, 2, "pack")
block("voltage", 5, 7, "voltage", { scale = 0.01, unit = "V" })
block("voltage.status", 5, 6, "voltage status", { enum = STATUS })
block("equalization", 5, 8, "equalization", { unit = "%" })
block("temperature", 7, 7, "temperature",
      { scale = 0.1, unit = "degC", type = "s32" })
block("temperature.status", 7, 6, "temperature status", { enum = STATUS })
block("resistance", 9, 7, "internal resistance",
      { scale = 0.01, unit = "mOhm" })
block("resistance.health", 9, 8, "resistance health", { unit = "%" })
block("resistance.status", 9, 6, "resistance status", { enum = STATUS })

-- bmFuncRes .6.1: the resistance measurement
obj("battery.resistance.interval", "6.1.1.0",
    "resistance measurement interval (hours in the MIB)",
    { unit = "s", scale = 3600, access = "rw", min = 3600, max = 8760 * 3600,
      type = "s32" })
obj("battery.resistance.measure.result", "6.1.3.0",
    "result of the last measure-now", {
  enum = { [1] = "none", [2] = "processing", [3] = "complete",
           [9] = "rejected" } })
text("battery.resistance.date", "6.1.4.0", "last resistance update")

-- bmFuncEqual .7: equalization
obj("battery.equalization.enable", "7.1.0", "equalization", {
  access = "rw", enum = { [1] = "enabled", [2] = "disabled" } })
obj("battery.equalization.threshold", "7.2.0", "equalization start threshold",
    { scale = 0.01, unit = "V", access = "rw", min = 0, max = 20,
      type = "s32" })
obj("battery.equalization.status", "7.3.0", "equalization state", {
  enum = { [1] = "active", [2] = "failed", [3] = "not-active",
           [9] = "not-supported" } })
text("battery.equalization.start", "7.4.0", "equalization start time")
obj("battery.equalization.elapsed", "7.5.0", "equalization time elapsed", {
  scale = 0.01, unit = "s", type = "u32", accept = { "timeticks" } })

-- Traps (enterprise 3808, v2 form 1.3.6.1.4.1.3808.0.N; a v1 trap's
-- enterprise and specific number come to the same OID): `ohm serve
-- --traps` names the kind and the varbinds below in ev.trap.
local CPS = "1.3.6.1.4.1.3808."
local traps = {
  oid = CPS .. "0",
  kinds = { [600] = "system alarm", [601] = "system warning",
            [602] = "system info", [603] = "probe alarm",
            [604] = "probe warning", [605] = "probe info" },
  varbinds = {
    [CPS .. "2.2.6"] = "event_id",        -- event id (DESIGN.md's list)
    [CPS .. "2.2.3"] = "text",            -- event text
    [CPS .. "1.1.7.1.7"] = "serial",      -- bmIdentSerialNumber
    [CPS .. "1.1.7.1.8"] = "name",        -- bmIdentName
    [CPS .. "1.1.7.1.9"] = "location",    -- bmIdentLocation
    [CPS .. "1.1.7.5.3.1.3"] = "string",  -- the probe's string index
    [CPS .. "1.1.7.5.3.1.4"] = "battery", -- the probe's battery index
  },
}

return {
  name = "cps-bm100",
  desc = "CyberPower BM100 battery manager (CPS-MIB battmgr, SNMP v1/v3)",
  mfr = "CyberPower",
  type = "battery monitor",
  snmp_version = "1",
  signature = { oid = BM .. "1.1.0" },
  traps = traps,
  -- `ohm serve --snmp`: served under its own OIDs as the unit sends them
  -- (INTEGERs in the map's scales), the probe tables' rows in the map's
  -- order numbered from 1
  agent = { numbers = "integer" },
  vars = vars,
  commands = {
    { name = "battery.resistance.measure", oid = BM .. "6.1.2.0", value = 2,
      desc = "measure every block's resistance now (bmFuncResMeasureNow); "
          .. "--wait polls the result",
      wait = { var = "battery.resistance.measure.result",
               done = "complete", fail = "rejected" } },
    { name = "test.panel.start", oid = BM .. "4.1.0", value = 2,
      desc = "light the panel indicators (bmControlPanelIndicatorTest)" },
    { name = "test.probes.start", oid = BM .. "4.2.0", value = 2,
      desc = "light every probe's indicator (bmControlProbeIndicatorTest)" },
  },
}
