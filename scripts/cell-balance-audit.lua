#!/usr/bin/env ohm
-- cell-balance-audit.lua: the cell voltage spread of every pack of every
-- battery bank, for cron.
--
--   ohm cell-balance-audit.lua [--max-delta MV] [--timeout SECONDS] [DEVICE...]
--
-- DEVICE is an inventory name or a URI (serial:///dev/ttyUSB0?driver=pace,
-- tcp://HOST:PORT?driver=pylontech, sim:pace); with none, every device of
-- the inventory that has packs. Prints one CSV line per pack:
--   device,pack,cells,min_V,max_V,delta_mV,lowest_cell,highest_cell,verdict
-- verdict is "ok" or "over" (delta above --max-delta, default 30 mV).
-- Exit status: 0 every pack within the limit, 1 a device could not be read
-- (reported on stderr; the others are still audited), 3 some pack's delta
-- is above the limit.

local S = require("ohm.script").new("cell-balance-audit",
  "[--max-delta MV] [--timeout SECONDS] [DEVICE...]")

local OPTIONS = {
  ["max-delta"] = function(o, v)
    o.max = tonumber(v)
    if not o.max or o.max < 0 then return "bad --max-delta (mV)" end
  end,
}

-- Packs of one bank's values: { [P] = { cells = {[C] = volts} } }.
local function packs(vals)
  local out = {}
  for name, v in pairs(vals) do
    local p, c = name:match("^battery%.pack%.(%d+)%.cell%.(%d+)%.voltage$")
    if p and type(v) == "number" then
      p, c = tonumber(p), tonumber(c)
      out[p] = out[p] or { cells = {} }
      out[p].cells[c] = v
    end
  end
  return out
end

local function spread(cells)
  local lo, hi, locell, hicell, n = math.huge, -math.huge, 0, 0, 0
  for c, v in pairs(cells) do
    n = n + 1
    if v < lo or (v == lo and c < locell) then lo, locell = v, c end
    if v > hi or (v == hi and c < hicell) then hi, hicell = v, c end
  end
  return n, lo, hi, locell, hicell
end

local function sorted_keys(t)
  local k = {}
  for x in pairs(t) do k[#k + 1] = x end
  table.sort(k)
  return k
end

local function audit(name, vals, o)
  local over, bank = 0, packs(vals)
  for _, p in ipairs(sorted_keys(bank)) do
    local n, lo, hi, lc, hc = spread(bank[p].cells)
    local delta = math.floor((hi - lo) * 1000 + 0.5)
    local verdict = delta > o.max and "over" or "ok"
    if verdict == "over" then over = over + 1 end
    io.write(string.format("%s,%d,%d,%.3f,%.3f,%d,%d,%d,%s\n",
      ohm.redact(name), p, n, lo, hi, delta, lc, hc, verdict))
  end
  return over
end

local function main(...)
  local o, devices = S:parse_args({ ... }, "cell voltage spread of every pack",
    OPTIONS, { max = 30 })
  local failed, over = 0, 0
  io.write("device,pack,cells,min_V,max_V,delta_mV,lowest_cell,highest_cell,verdict\n")
  for _, name in ipairs(S:devices(devices)) do
    local vals = S:read(name, o, function(dev) return dev:get() end)
    if vals then
      over = over + audit(name, vals, o)
    else
      failed = failed + 1
    end
  end
  io.stdout:flush()
  if failed > 0 then os.exit(1) end
  if over > 0 then os.exit(3) end
end

main(...)
