-- seplos: a Seplos BMS V2 (protocol 2.0) pack or bank over RS485, as a
-- user map: no C. `ohm get -d ./seplos.lua serial:///dev/ttyUSB0`, or copy
-- it to ~/.config/ohm/drivers/ and use -d seplos. See ohm-maps(5).
--
-- The YD/T 1363.3 frame of DESIGN.md "Drivers pylontech and pace" with
-- VER 0x20, CID1 0x46, ADR the pack's (0..15, DIP switches). Telemetry is
-- CID2 0x42 with INFO = the pack address; its reply, as public decoders
-- of real frames read it (esphome-seplos-bms):
--   data flag, command group (1 for telemetry: not the pack address, so
--   info_adr = 0), cell count, cells (mV), sensor count, sensors (0.1 K,
--   offset 2731: cells 1-4, 5-8, 9-12, 13-16, environment, MOSFET),
--   current (signed, 10 mA), pack voltage (10 mV), remaining capacity
--   (10 mAh), custom item count P = 10, then battery capacity (10 mAh),
--   SOC (0.1 %), rated capacity (10 mAh), cycles, SOH (0.1 %), port
--   voltage (10 mV) and four reserved words.
-- The engine reads the slot after the full capacity as the cycle count;
-- here it holds the SOC, so extras[10] reads the rated capacity and the
-- real cycle count (which replaces it) and skips SOH, port voltage and the
-- reserved words (a field of another name is read and ignored). Charge and
-- health are computed (remaining / full, full / rated).
-- Not read: the alarms (0x44), system parameters (0x47) and manufacturer
-- information (0x51), whose layouts no verified frame here backs.
local P = { "P", 0, 15 }
local C = { "C", 1, 16 }
local pk = "battery.pack.{P}."
local sensors = { "cells 1-4", "cells 5-8", "cells 9-12", "cells 13-16",
                  "environment", "MOSFET" }

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

local function pack(field, name, scale, unit, desc)
  vars[#vars + 1] = { name = pk .. name, frame = field, scale = scale,
                      unit = unit, desc = desc, each = { P } }
end

pack("voltage", "voltage", 0.01, "V", "pack voltage (0x42)")
pack("current", "current", 0.01, "A", "pack current, + charging (0x42)")
pack("charge", "charge", 0.1, "%", "state of charge: remaining / full")
pack("health", "health", 0.1, "%", "state of health: full / rated")
pack("cycles", "cycles", 1, "", "charge cycles (0x42)")
pack("capacity", "capacity", 0.01, "Ah", "battery capacity (0x42)")
pack("capacity.remaining", "capacity.remaining", 0.01, "Ah",
     "remaining capacity (0x42)")
pack("capacity.design", "capacity.nominal", 0.01, "Ah",
     "rated capacity (0x42)")
pack("cells", "cells", 1, "", "cells in the pack (0x42)")
pack("cell.voltage.min", "cell.voltage.min", 0.001, "V", "lowest cell")
pack("cell.voltage.max", "cell.voltage.max", 0.001, "V", "highest cell")
pack("cell.voltage.delta", "cell.voltage.delta", 0.001, "V",
     "highest minus lowest cell")
pack("temperature", "temperature", 0.1, "degC",
     "highest cell sensor (sensors 1-4)")
pack("state", "status", 1, "", "charging, discharging or resting")

vars[#vars + 1] = { name = pk .. "cell.{C}.voltage", frame = "cell.voltage",
  scale = 0.001, unit = "V", desc = "cell {C} voltage (0x42)",
  each = { P, C } }
for n, what in ipairs(sensors) do
  vars[#vars + 1] = { name = pk .. "temperature." .. n, frame = "temp",
    scale = 0.1, unit = "degC", desc = "sensor " .. n .. ": " .. what,
    each = { P, { "N", n, n } } }
end

return {
  name = "seplos",
  mfr = "Seplos",
  model = "Seplos BMS V2 (YD/T 1363.3, VER 0x20)",
  type = "battery",
  desc = "Seplos BMS V2 pack or bank over RS485 (protocol 2.0), a user map",
  frame = {
    ver = 0x20, cid1 = 0x46, adr = "pack", addresses = { 0, 15 },
    analog = 0x42, alarms = 0, info_adr = 0,
    cell_scale = 0.001, temp_offset = 2731, temp_scale = 0.1,
    current_scale = 0.01, voltage_scale = 0.01, capacity_scale = 0.01,
    extras = { [10] = { { "capacity.design", 2 }, { "cycles", 2 },
                        { "skip", 4 }, { "skip", 4 }, { "skip", 4 } } },
    cell_temps = { 1, 4 },
  },
  vars = vars,
}
