-- require("ohm.script"): what the fleet scripts of scripts/ share (their
-- command line, the inventory as the default device list, reading each
-- device, CSV output). Embedded into the binary (scripts/embed.sh) and
-- loaded on the first require by lua/l_ohm.c, so that an installed script
-- needs no Lua path.
--
--   local S = require("ohm.script").new("NAME", "[--opt X] [DEVICE...]")
--   local o, devices = S:parse_args({ ... }, "what it does", { opt = f })
local M = {}
M.__index = M

-- A script's helper: NAME prefixes its messages; SYNOPSIS is its usage.
function M.new(name, synopsis)
  return setmetatable({ name = name, synopsis = synopsis }, M)
end

-- "NAME: message" on stderr, written as one piece.
function M:warn(...)
  io.stderr:write(self.name, ": ", ...)
  io.stderr:write("\n")
end

-- A usage error: the message, the usage line, exit status 2.
function M:usage(msg)
  io.stderr:write(self.name, ": ", msg, "\n", "usage: ohm ", self.name,
    ".lua ", self.synopsis, "\n")
  os.exit(2)
end

-- Options and DEVICE arguments. `options` maps an option's name (without
-- the --) to function(o, value) that checks the value (nil when the
-- option ends the line), stores it in o and returns a message on error
-- (a usage error); every script has --timeout SECONDS
-- and -h/--help (HELP is its one-line summary). Returns o, devices.
function M:parse_args(argv, help, options, o)
  o, options = o or {}, options or {}
  local devices, i = {}, 1
  while i <= #argv do
    local a, v = argv[i], argv[i + 1]
    local opt = a:match("^%-%-(.+)$")
    if opt == "timeout" then
      o.timeout, i = tonumber(v), i + 1
      if not o.timeout or o.timeout <= 0 then
        self:usage("--timeout needs a positive number of seconds")
      end
    elseif opt and options[opt] then
      local err = options[opt](o, v)
      if err then self:usage(err) end
      i = i + 1
    elseif a == "-h" or a == "--help" then
      self:usage(help)
    elseif a:sub(1, 1) == "-" and a ~= "-" then
      self:usage("unknown option " .. a)
    else
      devices[#devices + 1] = a
    end
    i = i + 1
  end
  return o, devices
end

-- The devices named, or with none every device of the inventory (exit 1
-- if it cannot be read, 2 if it is empty).
function M:devices(devices)
  if #devices == 0 then
    local inv, err = ohm.devices()
    if not inv then
      self:warn(err)
      os.exit(1)
    end
    for _, d in ipairs(inv) do devices[#devices + 1] = d.name end
  end
  if #devices == 0 then
    self:usage("no devices: give some or add them to the inventory")
  end
  return devices
end

-- read(dev) of the device NAME opened with the script's timeout, closed
-- after; on failure the message is warned and nil returned.
function M:read(name, o, read)
  local dev, err = ohm.open(name, { timeout = o.timeout })
  local got
  if dev then
    got, err = read(dev)
    dev:close()
  end
  if not got then self:warn(err) end
  return got
end

-- One CSV field: quoted when it holds a comma, a quote or a line break.
function M.csv(s)
  s = tostring(s)
  if s:find('[,"\r\n]') then s = '"' .. s:gsub('"', '""') .. '"' end
  return s
end

-- One CSV line of the fields given, written to stdout.
function M.row(...)
  local f = table.pack(...)
  for i = 1, f.n do f[i] = M.csv(f[i]) end
  io.write(table.concat(f, ",", 1, f.n), "\n")
end

-- Whether NAME is an alarm threshold (.low/.high .critical/.warning).
function M.is_threshold(name)
  return name:match("%.low%.critical$") or name:match("%.high%.critical$") or
    name:match("%.low%.warning$") or name:match("%.high%.warning$")
end

return M
