-- ohm.config (save, load, diff, apply) against in-process simulators
-- (sim:bps2000v2 over real Modbus TCP): the same core as `ohm config`.
local SIM = "sim:bps2000v2"
local V = "input.L1.current.high.critical"
local tmp = os.tmpname()

local d1 = assert(ohm.open(SIM))
local d2 = assert(ohm.open(SIM))
local t = ohm.config.save(d1, tmp)
ok(t and t.driver == "bps2000v2" and t.model == "BPS2000v2" and
   t.time:match("^%d%d%d%d%-%d%d%-%d%dT"), "save: the header fields")
eq(t and t.values[V], 16, "save: a threshold's value")
eq(t and math.type(t.values[V]), "integer", "save: whole numbers as integers")
eq(t and t.values["input.L1.current"], nil, "save: read-only variables left out")
ok(t and #t.skipped == 16 and t.skipped[1]:find("warning: not reachable over modbus%-tcp"),
   "save: the console-only warnings listed as skipped", t and t.skipped[1])
local l = ohm.config.load(tmp)
eq(l and l.values[V], 16, "load reads the saved file back")

local r = ohm.config.diff(tmp, d1, d2)
ok(#r == 2 and r[1].equal and r[2].equal and #r[1].differences == 0,
   "diff of the saved file: both devices equal")

l.values[V] = 12
r = ohm.config.diff(l, {d1, d2})
ok(#r == 2 and not r[2].equal and r[2].differences[1].name == V and
   r[2].differences[1].device == "16" and r[2].differences[1].file == "12",
   "diff of an edited table: the value on each device")

local a = ohm.config.apply(l, {d1, d2}, {dry_run = true})
ok(a.ok and not a.refused and a.devices[1].result == "dry-run" and
   d1:get(V) == 16, "apply dry_run: the plan, nothing written")
a = ohm.config.apply(l, {d1, d2}, {jobs = 2})
ok(a.ok and a.devices[1].result == "applied" and
   a.devices[2].changes[1].result == "written" and
   d1:get(V) == 12 and d2:get(V) == 12, "apply: written and read back")
r = ohm.config.diff(l, d1, d2)
ok(r[1].equal and r[2].equal, "diff after apply: equal")

l.values["ambient.humidity.high.critical"] = 85
l.values["input.L1-N.voltage.high.critical"] = 999
a = ohm.config.apply(l, {d1, d2})
ok(not a.ok and a.refused and a.devices[1].result == "refused" and
   a.devices[1].error:find("999", 1, true) and
   d1:get("ambient.humidity.high.critical") == 80 and
   d2:get("ambient.humidity.high.critical") == 80,
   "a value out of range: refused, nothing written anywhere",
   a.devices[1].error)
a = ohm.config.apply(l, d1, {only = "ambient.humidity.high.critical"})
ok(a.ok and d1:get("ambient.humidity.high.critical") == 85 and
   d1:get("input.L1-N.voltage.high.critical") == 253, "apply only = one name")

l.driver = "ups-mib"
a = ohm.config.apply(l, d1)
ok(a.refused and a.devices[1].error:find("saved from driver ups-mib", 1, true),
   "a table from another driver is refused")

local f = io.open(tmp, "w")
f:write("while true do end\n")
f:close()
local none, err = ohm.config.load(tmp)
ok(none == nil and err:find("too long"), "load runs the file in the sandbox (step limit)", err)
f = io.open(tmp, "w")
f:write("return { driver = 'bps2000v2', values = { x = io.open('/etc/passwd') } }\n")
f:close()
none, err = ohm.config.load(tmp)
ok(none == nil and err:find("io"), "load: no io in the sandbox", err)
os.remove(tmp)

raises("no device", "diff without a device raises", ohm.config.diff, l)
raises("same device twice", "the same device twice raises", ohm.config.diff, l, d1, d1)
raises("jobs", "apply with jobs = 0 raises", ohm.config.apply, l, d1, {jobs = 0})
raises("number or a string", "a value of the wrong type raises",
       ohm.config.apply, {driver = "bps2000v2", values = {[V] = true}}, d1)
d1:close()
d2:close()
