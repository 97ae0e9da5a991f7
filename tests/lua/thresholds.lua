-- dev:set refuses thresholds out of order (devices/thresh.h) with nil and
-- the reason; {force = true} writes them anyway.
local d = assert(ohm.open("sim:bps2000v2"))
local good, msg = d:set("input.L1-N.voltage.high.critical", 200)
eq(good, nil, "set: a high alarm below the low alarm gives nil")
ok(msg and msg:find("input.L1-N.voltage.high.critical 200 V would be below "
  .. "input.L1-N.voltage.low.critical 207 V", 1, true)
  and msg:find("force = true", 1, true),
  "set: the message says which two are out of order and how to force", msg)
eq(d:get("input.L1-N.voltage.high.critical"), 253, "nothing was written")
eq(d:set("input.L1-N.voltage.high.critical", 200, {force = true}), true,
  "set with {force = true} writes it")
eq(d:get("input.L1-N.voltage.high.critical"), 200, "and it reads back")
eq(d:set("input.L1-N.voltage.high.critical", 250), true,
  "set: a value in order is written")
raises("table expected", "set with a non-table option raises",
  d.set, d, "input.L1-N.voltage.high.critical", 250, true)
d:close()
