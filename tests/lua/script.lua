-- require("ohm.script"): the helpers the scripts of scripts/ share
-- (lua/script.lua, embedded): CSV quoting, option parsing, reading a
-- device. The scripts themselves: tests/e2e/lua_scripts.sh, bms_scripts.sh.
local script = require("ohm.script")
local S = script.new("t", "[--n N] [DEVICE...]")

eq(script.csv("plain"), "plain", "a plain field is not quoted")
eq(script.csv('a,"b"'), '"a,""b"""', "comma and quotes: quoted, quotes doubled")
eq(script.csv(1.5), "1.5", "a number is its text")
ok(S.is_threshold("input.L1.current.high.critical"), "a threshold")
ok(not S.is_threshold("input.L1.current"), "not a threshold")

local opts = { n = function(o, v)
  o.n = tonumber(v)
  if not o.n then return "bad --n" end
end }
local o, devs = S:parse_args({ "--n", "3", "a", "--timeout", "2", "-", "b" }, "help",
  opts, { n = 1 })
eq(o.n, 3, "a script's own option")
eq(o.timeout, 2, "--timeout")
eq(table.concat(devs, " "), "a - b", "devices in order; a lone - is one")

eq(S:devices({ "x" })[1], "x", "devices named are kept")
local vals = S:read("sim:bps2000v2", {}, function(dev) return dev:get() end)
ok(type(vals) == "table" and vals["input.L1.current"], "read opens, reads, closes")
