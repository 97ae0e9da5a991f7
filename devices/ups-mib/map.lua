-- ups-mib: any RFC 1628 (UPS-MIB) agent, e.g. the IEI AUPS2-B20 (read-only
-- SNMP v1/v2c, manual section 4.5) and the GENEREX CS141 card. NUT's
-- ietf-mib mapping: the same names and scales (DESIGN.md "Driver ups-mib").
-- ups.status is built by hooks.c from upsOutputSource and upsBatteryStatus.
-- Objects an agent lacks are left out, never shown as zero. Read-only.

local UPS = ".1.3.6.1.2.1.33.1."
local vars = {}

local function obj(name, oid, scale, unit, desc, extra)
  local v = { name = name, oid = UPS .. oid, scale = scale, unit = unit,
              desc = desc }
  for k, x in pairs(extra or {}) do v[k] = x end
  vars[#vars + 1] = v
end

local function text(name, oid, desc)
  obj(name, oid, 1, "", desc, { type = "string" })
end

-- Ident group
text("device.mfr", "1.1.0", "manufacturer (upsIdentManufacturer)")
text("ups.mfr", "1.1.0", "UPS manufacturer (upsIdentManufacturer)")
text("device.model", "1.2.0", "model (upsIdentModel)")
text("ups.model", "1.2.0", "UPS model (upsIdentModel)")
text("ups.firmware", "1.3.0",
     "UPS firmware version (upsIdentUPSSoftwareVersion)")
text("ups.firmware.aux", "1.4.0",
     "agent firmware version (upsIdentAgentSoftwareVersion)")

-- Battery group
obj("battery.status", "2.1.0", 1, "",
    "battery state (upsBatteryStatus: unknown, normal, low, depleted)",
    { type = "enum", enum = { [1] = "unknown", [2] = "normal", [3] = "low",
                              [4] = "depleted" } })
obj("battery.runtime", "2.3.0", 60, "s",
    "estimated runtime on battery (upsEstimatedMinutesRemaining x 60)")
obj("battery.charge", "2.4.0", 1, "%",
    "battery charge (upsEstimatedChargeRemaining)")
obj("battery.voltage", "2.5.0", 0.1, "V", "battery voltage (upsBatteryVoltage)")
obj("battery.current", "2.6.0", 0.1, "A", "battery current (upsBatteryCurrent)",
    { type = "s16" })
obj("battery.temperature", "2.7.0", 1, "degC",
    "battery temperature (upsBatteryTemperature)", { type = "s16" })

-- Input, output and bypass lines. NUT's rule (hooks.c applies it): with
-- upsInputNumLines (upsOutputNumLines, upsBypassNumLines) = 3 the lines
-- are input.Lx-N.voltage ..., never line 1 under the single-phase names;
-- otherwise line 1 under the single-phase names and no Lx forms.
local function lines(group, col, scale, unit, single, three, desc)
  obj(single, group .. "." .. col .. ".1", scale, unit,
      desc .. " (line 1)")
  for x = 1, 3 do
    obj(three:gsub("x", x), group .. "." .. col .. "." .. x, scale, unit,
        desc .. " (line " .. x .. ")")
  end
end

obj("input.phases", "3.2.0", 1, "", "input lines (upsInputNumLines)")
lines("3.3.1", 2, 0.1, "Hz", "input.frequency", "input.Lx.frequency",
      "input frequency, upsInputFrequency")
lines("3.3.1", 3, 1, "V", "input.voltage", "input.Lx-N.voltage",
      "input voltage, upsInputVoltage")
lines("3.3.1", 4, 0.1, "A", "input.current", "input.Lx.current",
      "input current, upsInputCurrent")
lines("3.3.1", 5, 1, "W", "input.realpower", "input.Lx.realpower",
      "input real power, upsInputTruePower")

-- Output group
obj("ups.status", "4.1.0", 1, "",
    "UPS status: OL, OB, LB, BYPASS, BOOST, TRIM, OFF (upsOutputSource " ..
    "and upsBatteryStatus)",
    { type = "enum", enum = { [1] = "", [2] = "OFF", [3] = "OL",
                              [4] = "OL BYPASS", [5] = "OB",
                              [6] = "OL BOOST", [7] = "OL TRIM" } })
obj("output.frequency", "4.2.0", 0.1, "Hz",
    "output frequency (upsOutputFrequency)")
obj("output.phases", "4.3.0", 1, "", "output lines (upsOutputNumLines)")
lines("4.4.1", 2, 1, "V", "output.voltage", "output.Lx-N.voltage",
      "output voltage, upsOutputVoltage")
lines("4.4.1", 3, 0.1, "A", "output.current", "output.Lx.current",
      "output current, upsOutputCurrent")
lines("4.4.1", 4, 1, "W", "output.realpower", "output.Lx.realpower",
      "output real power, upsOutputPower")
lines("4.4.1", 5, 1, "%", "ups.load", "output.Lx.power.percent",
      "load, upsOutputPercentLoad")

-- Bypass group
obj("input.bypass.frequency", "5.1.0", 0.1, "Hz",
    "bypass frequency (upsBypassFrequency)")
obj("input.bypass.phases", "5.2.0", 1, "", "bypass lines (upsBypassNumLines)")
lines("5.3.1", 2, 1, "V", "input.bypass.voltage", "input.bypass.Lx-N.voltage",
      "bypass voltage, upsBypassVoltage")
lines("5.3.1", 3, 0.1, "A", "input.bypass.current", "input.bypass.Lx.current",
      "bypass current, upsBypassCurrent")
lines("5.3.1", 4, 1, "W", "input.bypass.realpower",
      "input.bypass.Lx.realpower", "bypass real power, upsBypassPower")

-- Alarm group
obj("ups.alarms.count", "6.1.0", 1, "",
    "active alarms (upsAlarmsPresent)")

-- Test and control groups
obj("ups.test.result", "7.3.0", 1, "",
    "last battery test (upsTestResultsSummary)",
    { type = "enum", enum = { [1] = "done and passed",
                              [2] = "done and warning",
                              [3] = "done and error", [4] = "aborted",
                              [5] = "in progress",
                              [6] = "no test initiated" } })
obj("ups.start.auto", "8.5.0", 1, "",
    "restart when power returns (upsAutoRestart)",
    { type = "enum", enum = { [1] = "yes", [2] = "no" } })

-- Configuration group (upsConfig)
obj("input.voltage.nominal", "9.1.0", 1, "V",
    "nominal input voltage (upsConfigInputVoltage)")
obj("input.frequency.nominal", "9.2.0", 0.1, "Hz",
    "nominal input frequency (upsConfigInputFreq)")
obj("output.voltage.nominal", "9.3.0", 1, "V",
    "nominal output voltage (upsConfigOutputVoltage)")
obj("output.frequency.nominal", "9.4.0", 0.1, "Hz",
    "nominal output frequency (upsConfigOutputFreq)")
obj("output.power.nominal", "9.5.0", 1, "VA",
    "nominal output apparent power (upsConfigOutputVA)")
obj("output.realpower.nominal", "9.6.0", 1, "W",
    "nominal output real power (upsConfigOutputPower)")
obj("battery.runtime.low", "9.7.0", 60, "s",
    "runtime left when the UPS calls the battery low " ..
    "(upsConfigLowBattTime x 60)")
obj("ups.beeper.status", "9.8.0", 1, "",
    "beeper (upsConfigAudibleStatus)",
    { type = "enum", enum = { [1] = "disabled", [2] = "enabled",
                              [3] = "muted" } })
obj("input.transfer.low", "9.9.0", 1, "V",
    "low voltage transfer point (upsConfigLowVoltageTransferPoint)")
obj("input.transfer.high", "9.10.0", 1, "V",
    "high voltage transfer point (upsConfigHighVoltageTransferPoint)")

-- Power can pass 65535 W on a big UPS (NonNegativeInteger in the MIB).
for _, v in ipairs(vars) do
  if v.unit == "W" or v.unit == "VA" then v.type = "u32" end
end

return {
  name = "ups-mib",
  -- what `ohm scan` and -d auto probe: upsIdentManufacturer
  signature = { oid = ".1.3.6.1.2.1.33.1.1.1.0" },
  desc = "any RFC 1628 UPS-MIB agent (IEI AUPS2-B20, GENEREX CS141), " ..
         "read-only SNMP",
  type = "ups",
  vars = vars,
  -- `ohm serve --snmp`: every UPS- or battery-like device appears in this
  -- UPS-MIB (DESIGN.md "Gateways"), numbers as INTEGERs in the map's
  -- scales; ups.status's flags are upsOutputSource's enum (the state with
  -- the most flags the status holds); the line counts and indexes NUT's
  -- snmp-ups reads; upsBatteryStatus from LB when the device has none.
  agent = {
    serves = { types = { "ups" }, vars = { "ups.status", "battery.charge" } },
    numbers = "integer",
    gauges = { "ups.alarms.count" },
    fixed = { [".1.3.6.1.2.1.33.1.3.2.0"] = 1, [".1.3.6.1.2.1.33.1.4.3.0"] = 1,
              [".1.3.6.1.2.1.33.1.3.3.1.1.1"] = 1,
              [".1.3.6.1.2.1.33.1.4.4.1.1.1"] = 1 },
    derive = { var = "battery.status", from = "ups.status", flag = "LB",
               on = "low", off = "normal" },
  },
}
