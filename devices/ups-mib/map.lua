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
text("device.model", "1.2.0", "model (upsIdentModel)")
text("ups.firmware", "1.3.0",
     "UPS firmware version (upsIdentUPSSoftwareVersion)")

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

-- Input group (line 1 of upsInputTable)
obj("input.frequency", "3.3.1.2.1", 0.1, "Hz",
    "input frequency (upsInputFrequency.1)")
obj("input.voltage", "3.3.1.3.1", 1, "V", "input voltage (upsInputVoltage.1)")

-- Output group
obj("ups.status", "4.1.0", 1, "",
    "UPS status: OL, OB, LB, BYPASS, BOOST, TRIM, OFF (upsOutputSource " ..
    "and upsBatteryStatus)",
    { type = "enum", enum = { [1] = "", [2] = "OFF", [3] = "OL",
                              [4] = "OL BYPASS", [5] = "OB",
                              [6] = "OL BOOST", [7] = "OL TRIM" } })
obj("output.frequency", "4.2.0", 0.1, "Hz",
    "output frequency (upsOutputFrequency)")
obj("output.voltage", "4.4.1.2.1", 1, "V",
    "output voltage (upsOutputVoltage.1)")
obj("output.current", "4.4.1.3.1", 0.1, "A",
    "output current (upsOutputCurrent.1)")
obj("output.realpower", "4.4.1.4.1", 1, "W",
    "output real power (upsOutputPower.1)")
obj("ups.load", "4.4.1.5.1", 1, "%", "load (upsOutputPercentLoad.1)")

-- Alarm group
obj("ups.alarms.count", "6.1.0", 1, "",
    "active alarms (upsAlarmsPresent)")

return {
  name = "ups-mib",
  desc = "any RFC 1628 UPS-MIB agent (IEI AUPS2-B20, GENEREX CS141), " ..
         "read-only SNMP",
  type = "ups",
  vars = vars,
}
