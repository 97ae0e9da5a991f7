-- pace: PACE BMS (and the LiFePO4 wall batteries built on it, seed 002)
-- over the YD/T 1363.3 frame protocol, PACE RS232/RS485 protocol V2.5
-- (VER 0x25). DESIGN.md "Drivers pylontech and pace" and "Naming beyond
-- NUT". Packs are addressed 0..15 (DIP switches); cell and sensor counts
-- come from each reply, so the map declares up to 16 cells and 6 sensors
-- per pack as repeated groups (`each`, ohm-maps(5)).
local P = { "P", 0, 15 }      -- pack addresses
local C = { "C", 1, 16 }      -- cells
local N = { "N", 1, 6 }       -- temperature sensors
local pk = "battery.pack.{P}."
local onoff = { [0] = "off", [1] = "on" }
local state = { [0] = "good", [1] = "critical-low", [2] = "critical-high",
                [240] = "fault" }
local sensors = { "cells 1-4", "cells 5-8", "cells 9-12", "cells 13-16",
                  "MOS", "ambient" }

local vars = {
  { name = "battery.packs", frame = "bank.packs",
    desc = "packs answering on the bus" },
  { name = "battery.voltage", frame = "bank.voltage", scale = 0.001,
    unit = "V", desc = "bank voltage (mean of the packs)" },
  { name = "battery.current", frame = "bank.current", scale = 0.01,
    unit = "A", desc = "bank current (sum of the packs, + charging)" },
  { name = "battery.charge", frame = "bank.charge", scale = 0.1, unit = "%",
    desc = "bank state of charge (remaining / full capacity)" },
  { name = "battery.capacity", frame = "bank.capacity", scale = 0.01,
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
pack("current", "current", 0.01, "A", "pack current, + charging (0x42)")
pack("charge", "charge", 0.1, "%", "state of charge: remaining / full")
pack("health", "health", 0.1, "%", "state of health: full / design capacity")
pack("cycles", "cycles", 1, "", "charge cycles (0x42)")
pack("capacity", "capacity", 0.01, "Ah", "full capacity (0x42)")
pack("capacity.remaining", "capacity.remaining", 0.01, "Ah",
     "remaining capacity (0x42)")
pack("capacity.design", "capacity.nominal", 0.01, "Ah",
     "design capacity (0x42, user item P=3)")
pack("cells", "cells", 1, "", "cells in the pack (0x42)")
pack("cell.voltage.min", "cell.voltage.min", 0.001, "V", "lowest cell")
pack("cell.voltage.max", "cell.voltage.max", 0.001, "V", "highest cell")
pack("cell.voltage.delta", "cell.voltage.delta", 0.001, "V",
     "highest minus lowest cell")
pack("temperature", "temperature", 0.1, "degC",
     "highest cell sensor (sensors 1-4)")
pack("state", "status", 1, "", "charging, discharging, resting or full")
pack("alarms", "alarms", 1, "",
     "alarm and protection words (0x44), empty when none")
pack("serial", "serial", 1, "", "pack serial / product info (0xC2)")
pack("firmware", "firmware", 1, "", "BMS software version (0xC1)")
pack("status:instruction", "mos.charge", 1, "", "charge MOSFET (0x44)",
     { bit = 1, enum = onoff })
pack("status:instruction", "mos.discharge", 1, "", "discharge MOSFET (0x44)",
     { bit = 2, enum = onoff })
pack("status:instruction", "heater", 1, "", "heating film (0x44)",
     { bit = 7, enum = onoff })
pack("status:control", "beeper.status", 1, "", "buzzer (0x44 control)",
     { bit = 0, enum = { [0] = "disabled", [1] = "enabled" } })

vars[#vars + 1] = { name = pk .. "cell.{C}.voltage", frame = "cell.voltage",
  scale = 0.001, unit = "V", desc = "cell {C} voltage (0x42)",
  each = { P, C } }
vars[#vars + 1] = { name = pk .. "cell.{C}.status", frame = "cell.status",
  enum = state, desc = "cell {C} state (0x44)", each = { P, C } }
vars[#vars + 1] = { name = pk .. "cell.{C}.balancing",
  frame = "cell.balancing", enum = { [0] = "no", [1] = "yes" },
  desc = "cell {C} balancing (0x44 balance state)", each = { P, C } }
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
words("protect1", { [0] = "cell-overvoltage", [1] = "cell-undervoltage",
  [2] = "overvoltage", [3] = "undervoltage", [4] = "charge-overcurrent",
  [5] = "discharge-overcurrent", [6] = "short-circuit" }, alarm_words)
words("protect2", { [0] = "charge-overtemperature",
  [1] = "discharge-overtemperature", [2] = "charge-undertemperature",
  [3] = "discharge-undertemperature", [4] = "mos-overtemperature",
  [5] = "ambient-overtemperature", [6] = "ambient-undertemperature" },
  alarm_words)
words("fault", { [0] = "charge-mos-fault", [1] = "discharge-mos-fault",
  [2] = "sensor-fault", [4] = "cell-fault", [5] = "sampling-fault" },
  alarm_words)

return {
  name = "pace",
  mfr = "PACE",
  model = "PACE BMS (YD/T 1363.3, VER 0x25)",
  type = "battery",
  desc = "PACE LiFePO4 BMS bank over RS485/RS232 (protocol V2.5)",
  frame = {
    ver = 0x25, cid1 = 0x46, adr = "pack", addresses = { 0, 15 },
    analog = 0x42, alarms = 0x44, firmware = 0xC1, serial = 0xC2,
    text_info = 0,
    cell_scale = 0.001, temp_offset = 2730, temp_scale = 0.1,
    current_scale = 0.01, voltage_scale = 0.001, capacity_scale = 0.01,
    extras = { [3] = { { "capacity.design", 2 } } },
    cell_temps = { 1, 4 },
    alarm_states = 3,
    status = { "protect1", "protect2", "instruction", "control", "fault",
               "balance1", "balance2", "warn1", "warn2" },
    balance = { "balance1", "balance2" },
    full = { "protect2", 7 },
    alarm_words = alarm_words,
  },
  vars = vars,
  commands = {
    { name = "battery.mos.charge.on", cid2 = 0x9A, data = "01",
      desc = "close the charge MOSFET of pack ?unit=P" },
    { name = "battery.mos.charge.off", cid2 = 0x9A, data = "00",
      dangerous = true, desc = "open the charge MOSFET: the pack stops "
      .. "charging" },
    { name = "battery.mos.discharge.on", cid2 = 0x9B, data = "01",
      desc = "close the discharge MOSFET of pack ?unit=P" },
    { name = "battery.mos.discharge.off", cid2 = 0x9B, data = "00",
      dangerous = true, desc = "open the discharge MOSFET: the pack stops "
      .. "supplying the load" },
    { name = "beeper.enable", cid2 = 0x99, data = "0C",
      desc = "buzzer on (switch 0x0C)" },
    { name = "beeper.disable", cid2 = 0x99, data = "0D",
      desc = "buzzer off (switch 0x0D)" },
  },
}
