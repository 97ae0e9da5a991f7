-- Paths on a device object (issue 9): every variable works as a path,
-- also those with children (input.L1.current has .high.critical and
-- .status); such a variable is a path object whose value is read when
-- used; an unknown path raises, naming it and the nearest known name.
-- The simulator's values drift between reads: compare with near().
local d = assert(ohm.open("sim:bps2000v2"))
local plain = assert(d:get("input.L1.current"))

ok(type(d.input.L1.current.high.critical) == "number",
  "pdu.input.L1.current.high.critical is a number (a child of a variable)")
eq(d.input.L1.current.high.critical, d:get("input.L1.current.high.critical"),
  "a child path reads the same as get()")
ok(type(d.input.L1.current.status) == "string", "pdu.input.L1.current.status")
ok(type(d.input.L1.energy.apparent) == "number", "pdu.input.L1.energy.apparent")
ok(type(d.input.L1.energy + 0) == "number", "pdu.input.L1.energy is usable as a number")
near(d.input.L1.current(), plain, 1, "p() gives the plain value, as get()")
eq(math.type(d.input.L1.current()), math.type(plain), "p() keeps the number's type")
near(d.input.L1.current + 0, plain, 1, "arithmetic reads the value")
near(-d.input.L1.current, -plain, 1, "unary minus")
near(d.input.L1.current * 2, plain * 2, 2, "multiplication")
ok(d.input.L1.current < plain + 5 and d.input.L1.current <= plain + 5, "comparisons read the value")
ok(plain - 5 < d.input.L1.current, "number < path")
near(tonumber(tostring(d.input.L1.current)), plain, 1, "tostring gives the value")
ok(("I=" .. d.input.L1.current):match("^I=[%d.]+$"), "concatenation gives the value")
ok(d.input.L1.current == d.input.L1.current, "two paths of one variable are equal")
ok(d.input.L1.current ~= d.input.L2.current, "paths of two variables are not equal")
eq(d:get("input.L1.current"), plain, "get(name) still returns the plain value")
ok(ohm.format(d.input.L1.current, "json"):match("^[%d.]+$"), "ohm.format (the REPL) shows a path's value as a number")
ok(ohm.format(d.input.L1):find("ohm.path", 1, true), "ohm.format of a group names it")
eq(type(d:get("input.L1.current")), "number", "get(name) is a number")
raises("group of variables", "calling a group (input.L1) raises", function() return d.input.L1() end)
raises("no variable 'input.L1.curent' in driver bps2000v2 %(did you mean input.L1.current%?%)",
  "a typo raises and suggests the nearest name", function() return d.input.L1.curent end)
raises("did you mean input.L1%?", "a wrong case suggests the right one", function() return d.input.l1.current end)
raises("no variable 'inptu'.*did you mean input%?", "a top-level typo suggests", function() return d.inptu end)
raises("did you mean input.L1.current%?", "get() with a typo suggests too", d.get, d, "input.L1.curent")
d:close()
raises("closed", "a path of a closed device raises", function() return d.input.L1.current end)
