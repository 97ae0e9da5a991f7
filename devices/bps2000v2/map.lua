-- BKT BPS2000v2 metered PDU: the driver map (DESIGN.md "Driver bps2000v2").
-- Registers from the manual's section 12.1 (seeds/004_9983d4abb5fb3fdc.txt),
-- errata resolved by the map's contiguity: humidity is 56, 57, 58 and the
-- temperature 1 alarm limits are 77/78. The whole map is registers 0..98.
--
-- One helper per kind of variable. Each takes an optional last table of
-- extra fields (oid=, oid_scale=, menu=) merged into the var, so the SNMP
-- and console locations are added beside the register:
--   measure("input.L1.current", 3, 0.01, "A", "...", { oid = "..." })

local vars, commands = {}, {}

local function add(v, extra)
  for k, x in pairs(extra or {}) do v[k] = x end
  vars[#vars + 1] = v
  return v
end

-- A read-only measurement: raw register times scale. 0xFFFF is the usual
-- "not available" of Modbus devices (no sensor, no reading): absent.
local function measure(name, reg, scale, unit, desc, extra)
  return add({ name = name, reg = reg, scale = scale, unit = unit,
               desc = desc, invalid = { 0xFFFF } }, extra)
end

-- A signed read-only measurement (temperatures can go below zero): there
-- 0xFFFF is -0.1, and the sentinels are the s16 extremes.
local function smeasure(name, reg, scale, unit, desc, extra)
  local v = measure(name, reg, scale, unit, desc, extra)
  v.type, v.invalid = "s16", { 0x7FFF, 0x8000 }
  return v
end

-- An energy counter: four registers of one byte each (manual 12.1); all
-- four 0xFFFF is "not available".
local function energy(name, reg, unit, desc, extra)
  return add({ name = name, reg = reg, type = "energy8", unit = unit,
               desc = desc, invalid = { "0xFFFFFFFFFFFFFFFF" } }, extra)
end

-- A writable alarm threshold with plausible limits (an unsigned one
-- reading 0xFFFF is not set: absent).
local function threshold(name, reg, scale, unit, min, max, desc, extra)
  return add({ name = name, reg = reg, scale = scale, unit = unit,
               access = "rw", min = min, max = max, desc = desc,
               type = min < 0 and "s16" or "u16",
               invalid = min >= 0 and { 0xFFFF } or nil }, extra)
end

-- A state read as a small code.
local function state(name, reg, enum, desc, extra)
  return add({ name = name, reg = reg, type = "enum", enum = enum,
               desc = desc, invalid = { 0xFFFF } }, extra)
end

-- A fixed value the device does not report over Modbus.
local function fixed(name, text, desc, extra)
  return add({ name = name, text = text, desc = desc }, extra)
end

local ALARM = { [0] = "good", [1] = "critical-low", [16] = "critical-high" }
local DOOR = { [1] = "open", [2] = "closed" }
local YESNO = { [1] = "yes", [2] = "no" }

local V = { lo = 0, hi = 300 }     -- volts
local A = { lo = 0, hi = 63 }      -- amperes
local T = { lo = -20, hi = 80 }    -- degrees Celsius
local H = { lo = 0, hi = 100 }     -- percent relative humidity

for x = 1, 3 do
  local L, i = "input.L" .. x, x - 1
  local function M(k) return { menu = "1:" .. k .. "." .. x } end
  measure(L .. "-N.voltage", 0 + i, 0.1, "V", "phase " .. x .. " voltage",
          M"voltage")
  measure(L .. ".current", 3 + i, 0.01, "A", "phase " .. x .. " current",
          M"load")
  measure(L .. ".realpower", 6 + i, 0.1, "W",
          "phase " .. x .. " active power", M"activepower")
  measure(L .. ".reactivepower", 9 + i, 0.1, "var",
          "phase " .. x .. " reactive power", M"reactivepower")
  measure(L .. ".power", 12 + i, 0.1, "VA",
          "phase " .. x .. " apparent power", M"apparentpower")
  measure(L .. ".frequency", 15 + i, 0.01, "Hz",
          "phase " .. x .. " frequency", M"frequency")
  measure(L .. ".powerfactor", 18 + i, 0.01, "",
          "phase " .. x .. " power factor", M"pf")
  energy(L .. ".energy", 21 + 4 * i, "kWh",
         "phase " .. x .. " active energy", M"totalenergy")
  energy(L .. ".energy.apparent", 33 + 4 * i, "kVAh",
         "phase " .. x .. " apparent energy", M"apparentenergy")
end
energy("input.energy", 45, "kWh", "total active energy L1+L2+L3",
       { menu = "1:totalenergy.total" })
energy("input.energy.apparent", 49, "kVAh",
       "total apparent energy L1+L2+L3", { menu = "1:apparentenergy.total" })

-- The three sensors: the unit's own, then the SensorBox's 1 and 2.
local SENSORS = { "ambient", "ambient.1", "ambient.2" }
for i, s in ipairs(SENSORS) do
  local which = i == 1 and "sensor" or "sensor " .. (i - 1)
  -- console: screen 1 "Sensor" line, then "SensorBox" (Temperature1 ...)
  local con = i == 1 and "1:sensor." or "1:sensorbox."
  local n = i == 1 and "" or tostring(i - 1)
  smeasure(s .. ".temperature", 52 + i, 0.1, "degC", which .. " temperature",
           { menu = con .. "temperature" .. n })
  measure(s .. ".humidity", 55 + i, 0.1, "%", which .. " humidity",
          { menu = con .. "humidity" .. n })
end
state("ambient.contacts.1.status", 59, DOOR, "door 1 (open, closed)",
      { menu = "1:sensorbox.door1" })
state("ambient.contacts.2.status", 60, DOOR, "door 2 (open, closed)",
      { menu = "1:sensorbox.door2" })
state("ambient.smoke", 61, YESNO, "smoke detected (yes, no)",
      { menu = "1:sensorbox.smoke" })
state("ambient.water", 62, YESNO, "water detected (yes, no)",
      { menu = "1:sensorbox.water" })

for x = 1, 3 do
  local L, i = "input.L" .. x, x - 1
  -- console: screen 8 "Phase x Voltage/Current" (ha hw lw la)
  local function T8(q, f)
    return { menu = "8:" .. q .. "." .. x .. "." .. f }
  end
  threshold(L .. "-N.voltage.low.critical", 63 + 2 * i, 0.1, "V", V.lo, V.hi,
            "phase " .. x .. " low voltage alarm", T8("voltage", "la"))
  threshold(L .. "-N.voltage.high.critical", 64 + 2 * i, 0.1, "V", V.lo,
            V.hi, "phase " .. x .. " high voltage alarm", T8("voltage", "ha"))
  threshold(L .. ".current.low.critical", 69 + 2 * i, 0.1, "A", A.lo, A.hi,
            "phase " .. x .. " low current alarm", T8("current", "la"))
  threshold(L .. ".current.high.critical", 70 + 2 * i, 0.1, "A", A.lo, A.hi,
            "phase " .. x .. " high current alarm", T8("current", "ha"))
  state(L .. "-N.voltage.status", 87 + i, ALARM,
        "phase " .. x .. " voltage alarm (good, critical-low, critical-high)")
  state(L .. ".current.status", 90 + i, ALARM,
        "phase " .. x .. " current alarm (good, critical-low, critical-high)")
end
for i, s in ipairs(SENSORS) do
  local which = i == 1 and "sensor" or "sensor " .. (i - 1)
  local t, h = 75 + 2 * (i - 1), 81 + 2 * (i - 1)
  -- console: screen 8 shows the unit's own sensor only
  local function T8(k) return i == 1 and { menu = "8:" .. k } or nil end
  threshold(s .. ".temperature.low.critical", t, 1, "degC", T.lo, T.hi,
            which .. " low temperature alarm", T8"temperature.la")
  threshold(s .. ".temperature.high.critical", t + 1, 1, "degC", T.lo, T.hi,
            which .. " high temperature alarm", T8"temperature.ha")
  threshold(s .. ".humidity.low.critical", h, 1, "%", H.lo, H.hi,
            which .. " low humidity alarm", T8"humidity.la")
  threshold(s .. ".humidity.high.critical", h + 1, 1, "%", H.lo, H.hi,
            which .. " high humidity alarm", T8"humidity.ha")
  state(s .. ".temperature.status", 92 + i, ALARM,
        which .. " temperature alarm (good, critical-low, critical-high)")
  state(s .. ".humidity.status", 95 + i, ALARM,
        which .. " humidity alarm (good, critical-low, critical-high)")
end

fixed("input.phases", 3, "number of input phases", { type = "u16" })

-- Warning thresholds: only the Telnet console has them (screen 8's High
-- Warning / Low Warning columns); no register, no OID.
local function warning(name, scale, unit, lim, desc, menu)
  return add({ name = name, scale = scale, unit = unit, access = "rw",
               min = lim.lo, max = lim.hi, desc = desc, menu = menu,
               type = lim.lo < 0 and "s16" or "u16" })
end
for x = 1, 3 do
  local L, p = "input.L" .. x, "phase " .. x
  warning(L .. "-N.voltage.high.warning", 0.1, "V", V,
          p .. " high voltage warning", "8:voltage." .. x .. ".hw")
  warning(L .. "-N.voltage.low.warning", 0.1, "V", V,
          p .. " low voltage warning", "8:voltage." .. x .. ".lw")
  warning(L .. ".current.high.warning", 0.1, "A", A,
          p .. " high current warning", "8:current." .. x .. ".hw")
  warning(L .. ".current.low.warning", 0.1, "A", A,
          p .. " low current warning", "8:current." .. x .. ".lw")
end
warning("ambient.temperature.high.warning", 1, "degC", T,
        "sensor high temperature warning", "8:temperature.hw")
warning("ambient.temperature.low.warning", 1, "degC", T,
        "sensor low temperature warning", "8:temperature.lw")
warning("ambient.humidity.high.warning", 1, "%", H,
        "sensor high humidity warning", "8:humidity.hw")
warning("ambient.humidity.low.warning", 1, "%", H,
        "sensor low humidity warning", "8:humidity.lw")

-- The Modbus map has no registers for these: the Telnet console runs them.
for x = 1, 3 do
  commands[#commands + 1] = { name = "reset.energy.L" .. x, via = "telnet",
    dangerous = true, desc = "reset the phase " .. x .. " energy counters" }
end
commands[#commands + 1] = { name = "device.restart", via = "telnet",
  dangerous = true, desc = "restart the management module" }
commands[#commands + 1] = { name = "device.factory_reset", via = "telnet",
  dangerous = true, desc = "restore the factory settings" }

-- SNMP (manual 10.1, enterprise 1.3.6.1.4.1.47394): every unit of a chain
-- has the same 37 fields under .1.N, N = 2 master, 3..7 slave one to five;
-- "%d" is N (unit 0..5 + 2). Errata (DESIGN.md): slaveTwo/slaveFive
-- ReactivePowerL2 are .13.0 like the others, and slave five has all 37.
-- Agents send decimal text in the var's unit, or INTEGERs scaled as the
-- registers are (energy in Wh: oid_scale 0.001 to kWh).
local FIELD = {
  ["ambient.temperature"] = 28, ["ambient.1.temperature"] = 29,
  ["ambient.2.temperature"] = 30, ["ambient.humidity"] = 31,
  ["ambient.1.humidity"] = 32, ["ambient.2.humidity"] = 33,
  ["ambient.smoke"] = 34, ["ambient.water"] = 35,
  ["ambient.contacts.1.status"] = 36, ["ambient.contacts.2.status"] = 37,
}
for x = 1, 3 do
  local L, b = "input.L" .. x, 9 * (x - 1)
  FIELD[L .. ".current"], FIELD[L .. "-N.voltage"] = b + 1, b + 2
  FIELD[L .. ".realpower"], FIELD[L .. ".reactivepower"] = b + 3, b + 4
  FIELD[L .. ".power"], FIELD[L .. ".frequency"] = b + 5, b + 6
  FIELD[L .. ".energy"], FIELD[L .. ".energy.apparent"] = b + 7, b + 8
  FIELD[L .. ".powerfactor"] = b + 9
end
for _, v in ipairs(vars) do
  local f = FIELD[v.name]
  if f then
    v.oid = ".1.3.6.1.4.1.47394.1.%d." .. f .. ".0"
    v.accept = { "integer", "gauge32", "counter32", "string" }
    if v.type == "energy8" then v.oid_scale = 0.001 end
  end
end

return {
  name = "bps2000v2",
  -- what `ohm scan` and -d auto probe: the master's L1 current (manual 10.1)
  signature = { oid = ".1.3.6.1.4.1.47394.1.2.1.0" },
  -- the chain behind one agent: "%d" in an OID is the unit + 2 (master 0,
  -- slaves 1..5; manual 10.1)
  oid_unit = { base = 2, max = 5 },
  desc = "BKT BPS2000v2 metered PDU (3 phases, sensors, Modbus/SNMP/Telnet)",
  mfr = "BKT ELEKTRONIK",
  model = "BPS2000v2",
  type = "pdu",
  upgrade = "tftp",
  max_read = 125,
  vars = vars,
  commands = commands,
}
