-- The `ohm` Lua API (DESIGN.md "Lua API") against the built-in simulator
-- sim:bps2000v2 over real Modbus TCP.
local SIM = "sim:bps2000v2"

-- module
ok(type(ohm) == "table" and ohm == require("ohm"), "ohm preloaded as global and module")
local drivers, transports = ohm.drivers()
local function has(t, v) for _, x in ipairs(t) do if x == v then return true end end end
ok(has(drivers, "bps2000v2"), "ohm.drivers() lists bps2000v2")
ok(has(transports, "modbus-tcp"), "ohm.drivers() lists the modbus-tcp transport")

-- decode
eq(ohm.decode.energy8(0, 27, 119, 184), 1800.12, "energy8(0, 27, 119, 184) is 1800.12 kWh")
eq(ohm.decode.energy8(0, 0, 0, 0), 0.0, "energy8 of zeros")
raises("above 255", "energy8 with a register of 256 raises", ohm.decode.energy8, 0, 27, 256, 184)
eq(ohm.redact("snmp://u:pw@h:161?auth_pass=s3&unit=1"), "snmp://u:***@h:161?auth_pass=***&unit=1", "ohm.redact hides the password and secret parameters")
eq(ohm.redact("pdu1"), "pdu1", "ohm.redact leaves a name alone")
raises("#4", "energy8 names the bad register", ohm.decode.energy8, 0, 0, 0, 300)
raises("number expected", "energy8 with a string raises", ohm.decode.energy8, "x", 0, 0, 0)

-- bad arguments raise
raises("string expected", "ohm.open() raises", ohm.open)
raises("table expected", "ohm.open(uri, 5) raises", ohm.open, SIM, 5)
raises("timeout", "ohm.open with a negative timeout raises", ohm.open, SIM, {timeout = -1})
raises("unknown option .tiemout.", "ohm.open with a mistyped option raises, naming it", ohm.open, SIM, {tiemout = 1})
raises("#2 to '[%w.]*poll' %(unknown option 'tiemout' %(known: [^)]*, jobs%)", "ohm.poll with a mistyped option names argument #2 and lists jobs", ohm.poll, {}, {tiemout = 1})
raises("#2 to '[%w.]*poll' %('timeout' must", "ohm.poll with a bad timeout names argument #2", ohm.poll, {}, {timeout = -1})
raises("retries", "ohm.open with fractional retries raises", ohm.open, SIM, {retries = 1.5})
raises("driver", "ohm.open with a numeric driver raises", ohm.open, SIM, {driver = 7})

-- failures return nil, message
local d0, msg = ohm.open("modbus-tcp://127.0.0.1:1", {driver = "bps2000v2", timeout = 2, retries = 0})
ok(d0 == nil and type(msg) == "string" and msg:find("127.0.0.1:1", 1, true),
  "refused connection: nil, message naming the device", msg)
local d1, msg1 = ohm.open("nosuchdevice")
ok(d1 == nil and type(msg1) == "string", "unknown inventory name: nil, message", msg1)
local d2, msg2 = ohm.open("modbus-tcp://127.0.0.1:1", {driver = "nosuchdriver"})
ok(d2 == nil and type(msg2) == "string" and msg2:find("nosuchdriver"), "unknown driver: nil, message", msg2)

-- device
local d = assert(ohm.open(SIM, {timeout = 5}))
ok(tostring(d):find("sim:bps2000v2", 1, true) and tostring(d):find("bps2000v2"),
  "__tostring names the device and driver", tostring(d))
local v = d:get("input.L1-N.voltage")
ok(type(v) == "number" and v > 100 and v < 300, "get a voltage: a plausible number", v)
ok(math.type(d:get("input.L1.current")) ~= nil, "get a current: a number")
eq(d:get("device.mfr"), "BKT ELEKTRONIK", "get device.mfr: a string")
local door = d:get("ambient.contacts.1.status")
ok(door == "open" or door == "closed", "get a door state: a string", door)
local st = d:get("input.L1.current.status")
ok(st == "good" or st == "critical-low" or st == "critical-high", "get an alarm status", st)
raises("no variable", "get of an unknown variable raises", d.get, d, "no.such.var")

local all = d:get()
ok(type(all) == "table", "get() returns a table")
local n = 0
for k, val in pairs(all) do n = n + 1 end
ok(n >= 79, "get() holds every variable (" .. n .. ")")
ok(type(all["input.L1.energy"]) == "number", "get() has input.L1.energy as a number")
eq(all["input.phases"], 3, "get() has input.phases, a number as DESIGN.md says")
ok(tostring(all):find("input.L1.current%s+[%d.]+%s+A"), "get()'s table prints as name/value/unit")

-- path access
ok(type(d.input.L1.current()) == "number", "pdu.input.L1.current() is a number")
ok(tostring(d.input.L1):find("input.L1", 1, true), "pdu.input.L1 is a path proxy")
eq(d.device.mfr, "BKT ELEKTRONIK", "pdu.device.mfr")
local smoke = d.ambient.smoke
ok(smoke == "yes" or smoke == "no", "pdu.ambient.smoke is yes/no", smoke)
raises("no variable 'nosuch'", "an unknown top-level name raises", function() return d.nosuch end)
raises("no variable 'input.nosuch'", "an unknown path raises", function() return d.input.nosuch end)
eq(type(d.get), "function", "methods win over variables")
ok(type(d.input["L1-N"].voltage()) == "number", "path with a non-identifier segment")
ok(type(d["input.L1.current.high.critical"]) == "number", "a full name as one key")

-- set
eq(d:set("input.L1.current.high.critical", 17.5), true, "set a threshold: true")
eq(d:get("input.L1.current.high.critical"), 17.5, "set round trip")
eq(d:set("ambient.temperature.high.critical", "41"), true, "set with a string value")
ok(type(d.ambient.temperature()) == "number", "a var with longer siblings reads as the var")
eq(d["ambient.temperature.high.critical"], 41, "set round trip (string value)")
raises("read%-only", "set of a read-only variable raises", d.set, d, "input.L1.current", 3)
raises("no variable", "set of an unknown variable raises", d.set, d, "nope", 3)
raises("number or string", "set with a table value raises", d.set, d, "input.L1.current.high.critical", {})
raises(nil, "set out of range raises", d.set, d, "input.L1.current.high.critical", 1e9)

-- cmd
-- (the simulator resets its thresholds; device.restart has no register)
local r, cmsg = d:cmd("device.restart")
ok(r == nil and type(cmsg) == "string" and cmsg:find("modbus"),
  "cmd over modbus: nil + message", cmsg)
ok(d:cmd("reset.energy.L1") == true and d:get("input.L1.energy") == 0,
  "energy reset clears the simulator's counter")
-- the energy used before a reset (here 3 s at about 1 kW since the last
-- request, about 1 Wh) must not show in the cleared counter
assert(d:get("input.L2.realpower") > 600)
os.execute("sleep 3")
ok(d:cmd("reset.energy.L2") == true and d:get("input.L2.energy") == 0,
  "energy reset: nothing used before it is counted after", d:get("input.L2.energy"))
raises("no command", "an unknown command raises", d.cmd, d, "no.such.cmd")

-- list
local l = d:list()
ok(#l >= 79, "list() has every variable")
local byname = {}
for _, e in ipairs(l) do byname[e.name] = e end
local cur = byname["input.L1.current"]
ok(cur and cur.unit == "A" and cur.access == "ro" and type(cur.desc) == "string",
  "list() entry for input.L1.current")
eq(byname["input.L1.current.high.critical"] and
   byname["input.L1.current.high.critical"].access, "rw", "list() marks rw variables")

-- close
d:close()
d:close()
ok(tostring(d):find("closed"), "closed device says so")
raises("closed", "a closed device raises on use", d.get, d, "input.L1.current")
raises("closed", "path access on a closed device raises", function() return d.input.L1.current end)

local captured
do
  local d3 <close> = assert(ohm.open(SIM))
  captured = d3
  ok(type(d3:get("input.L1.current")) == "number", "<close> device works in scope")
end
ok(tostring(captured):find("closed"), "__close closes a <close> device")
collectgarbage()

-- raw transport
local t = assert(ohm.connect(SIM))
ok(tostring(t):find("ohm.transport"), "connect returns a transport")
local regs = t:read(0, 99)
eq(#regs, 99, "read(0, 99) returns 99 registers")
ok(math.type(regs[1]) == "integer", "register values are integers")
eq(t:write(70, 175), true, "write(70, 175)")
eq(t:read(70, 1)[1], 175, "write/read round trip")
eq(t:read(70, 1, 1)[1], 175, "read with an explicit unit")
raises("1..125", "read of 126 registers raises", t.read, t, 0, 126)
raises("0..65535", "write of 70000 raises", t.write, t, 0, 70000)
raises("integer", "read with a float address raises", t.read, t, 0.5, 1)
local rr, rmsg = t:read(0, 1, 9)
ok(rr == nil and type(rmsg) == "string", "read from a unit that does not answer: nil, message", rmsg)
t:close()
t:close()
raises("closed", "a closed transport raises on use", t.read, t, 0, 1)
local t2, tmsg = ohm.connect("modbus-tcp://127.0.0.1:1", {timeout = 1, retries = 0})
ok(t2 == nil and type(tmsg) == "string", "connect refused: nil, message", tmsg)

-- format
eq(ohm.format({a = 1, b = {1, 2}}, "json"), '{"a": 1, "b": [1, 2]}', "format json")
eq(ohm.format({a = 1}, "lua"), "{ a = 1 }", "format lua")
raises("invalid mode", "format with a bad mode raises", ohm.format, 1, "xml")

-- secrets never in messages or names
local sd, smsg = ohm.open("modbus-tcp://admin:s3cret@127.0.0.1:1", {driver = "bps2000v2", timeout = 1, retries = 0})
ok(sd == nil and not smsg:find("s3cret"), "open failure message hides the password", smsg)
local st2, stmsg = ohm.connect("modbus-tcp://admin:s3cret@127.0.0.1:1", {timeout = 1, retries = 0})
ok(st2 == nil and not stmsg:find("s3cret"), "connect failure message hides the password", stmsg)
