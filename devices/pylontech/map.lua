-- pylontech: the "Pylon" inverter-port protocol (Pylon RS485 protocol
-- V3.3, YD/T 1363.3, VER 0x20) that Pylontech US2000/US3000/US5000 packs
-- and many LiFePO4 wall batteries (seed 002) speak. DESIGN.md "Drivers
-- pylontech and pace" and "Naming beyond NUT". The master is address 2,
-- slaves 3 and up; cell and sensor counts come from each reply, so the map
-- declares up to 16 cells and 6 sensors per pack as repeated groups
-- (`each`, ohm-maps(5)).
local P = { "P", 2, 17 }      -- pack addresses
local C = { "C", 1, 16 }      -- cells
local N = { "N", 1, 6 }       -- temperature sensors
local pk = "battery.pack.{P}."
local onoff = { [0] = "off", [1] = "on" }
local state = { [0] = "good", [1] = "critical-low", [2] = "critical-high",
                [240] = "fault" }
local sensors = { "BMS board", "cells 1-4", "cells 5-8", "cells 9-12",
                  "cells 13-16", "MOS" }

local vars = {
  { name = "battery.packs", frame = "bank.packs",
    desc = "packs answering on the bus" },
  { name = "battery.voltage", frame = "bank.voltage", scale = 0.001,
    unit = "V", desc = "bank voltage (mean of the packs)" },
  { name = "battery.current", frame = "bank.current", scale = 0.1,
    unit = "A", desc = "bank current (sum of the packs, + charging)" },
  { name = "battery.charge", frame = "bank.charge", scale = 0.1, unit = "%",
    desc = "bank state of charge (remaining / full capacity)" },
  { name = "battery.capacity", frame = "bank.capacity", scale = 0.001,
    unit = "Ah", desc = "bank full capacity (sum of the packs)" },
  { name = "battery.temperature", frame = "bank.temperature", scale = 0.1,
    unit = "degC", desc = "highest cell temperature of the bank" },
}

local function pack(field, name, scale, unit, desc, extra)
  local v = { name = pk .. name, frame = field, scale = scale, unit = unit,
              desc = desc, each = { P } }
  for k, x in pairs(extra or {}) do v[k] = x end
  vars[#vars + 1] = v
end

pack("voltage", "voltage", 0.001, "V", "pack voltage (0x42)")
pack("current", "current", 0.1, "A", "pack current, + charging (0x42)")
pack("charge", "charge", 0.1, "%", "state of charge: remaining / full")
pack("cycles", "cycles", 1, "", "charge cycles (0x42)")
pack("capacity", "capacity", 0.001, "Ah", "full capacity (0x42)")
pack("capacity.remaining", "capacity.remaining", 0.001, "Ah",
     "remaining capacity (0x42)")
pack("cells", "cells", 1, "", "cells in the pack (0x42)")
pack("cell.voltage.min", "cell.voltage.min", 0.001, "V", "lowest cell")
pack("cell.voltage.max", "cell.voltage.max", 0.001, "V", "highest cell")
pack("cell.voltage.delta", "cell.voltage.delta", 0.001, "V",
     "highest minus lowest cell")
pack("temperature", "temperature", 0.1, "degC",
     "highest cell sensor (sensors 2-5)")
pack("state", "status", 1, "", "charging, discharging, resting or full")
pack("alarms", "alarms", 1, "",
     "alarm and protection words (0x44), empty when none")
pack("serial", "serial", 1, "", "pack serial number (0x93)")
pack("status:status2", "mos.charge", 1, "", "charge MOSFET (0x44 status 2)",
     { bit = 1, enum = onoff })
pack("status:status2", "mos.discharge", 1, "",
     "discharge MOSFET (0x44 status 2)", { bit = 2, enum = onoff })

vars[#vars + 1] = { name = pk .. "cell.{C}.voltage", frame = "cell.voltage",
  scale = 0.001, unit = "V", desc = "cell {C} voltage (0x42)",
  each = { P, C } }
vars[#vars + 1] = { name = pk .. "cell.{C}.status", frame = "cell.status",
  enum = state, desc = "cell {C} state (0x44)", each = { P, C } }
for n, what in ipairs(sensors) do
  vars[#vars + 1] = { name = pk .. "temperature." .. n, frame = "temp",
    scale = 0.1, unit = "degC", desc = "sensor " .. n .. ": " .. what,
    each = { P, { "N", n, n } } }
  vars[#vars + 1] = { name = pk .. "temperature." .. n .. ".status",
    frame = "temp.status", enum = state,
    desc = "sensor " .. n .. " state (0x44)", each = { P, { "N", n, n } } }
end

local function words(status, list, out)
  for bit, w in pairs(list) do out[#out + 1] = { status, bit, w } end
  return out
end
local alarm_words = {}
words("status1", { [0] = "overvoltage", [1] = "cell-undervoltage",
  [2] = "charge-overcurrent", [4] = "discharge-overcurrent",
  [5] = "discharge-overtemperature", [6] = "charge-overtemperature",
  [7] = "undervoltage" }, alarm_words)

return {
  name = "pylontech",
  mfr = "Pylontech",
  model = "Pylon protocol BMS (YD/T 1363.3, VER 0x20)",
  type = "battery",
  desc = "Pylontech-protocol LiFePO4 bank over RS485 (protocol V3.3)",
  frame = {
    ver = 0x20, cid1 = 0x46, adr = "pack", addresses = { 2, 17 },
    analog = 0x42, alarms = 0x44, serial = 0x93, text_info = 1,
    cell_scale = 0.001, temp_offset = 2731, temp_scale = 0.1,
    current_scale = 0.1, voltage_scale = 0.001, capacity_scale = 0.001,
    extras = { [4] = { { "capacity.remaining", 3 }, { "capacity", 3 } } },
    cell_temps = { 2, 5 },
    alarm_states = 3,
    status = { "status1", "status2", "status3", "status4", "status5" },
    full = { "status3", 3 },
    alarm_words = alarm_words,
  },
  vars = vars,
}
