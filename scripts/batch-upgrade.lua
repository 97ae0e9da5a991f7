#!/usr/bin/env ohm
-- batch-upgrade.lua: upgrade a rack, check it, and report (issue 5).
--
--   ohm batch-upgrade.lua --file FIRMWARE [--file FILE2] [--jobs N]
--       [--wait SECONDS] [--mail ADDRESS] [--dry-run] TARGET...
--
-- TARGET is an inventory name (its driver says TFTP or FTP; `upgrade_uri`
-- says where), a device URI, or a tftp:// / ftp:// URI. Sends the file(s)
-- with ohm.upgrade{}, then prints one line per unit and a summary; with
-- --mail the summary goes to ADDRESS through mail(1) as well. Exit status
-- as `ohm upgrade`: 0 all ok, 3 some failed, 1 none did, 2 usage. The call
-- itself is the consent: no question is asked, so keep it out of reach of
-- a mistyped cron line.

local function usage(msg)
  io.stderr:write("batch-upgrade: ", msg, "\n", "usage: ohm batch-upgrade.lua",
    " --file FIRMWARE [--file FILE2] [--jobs N] [--wait SECONDS]",
    " [--mail ADDRESS] [--dry-run] TARGET...\n")
  os.exit(2)
end

local function parse_args(argv)
  local o = { files = {}, targets = {} }
  local i = 1
  while i <= #argv do
    local a, v = argv[i], argv[i + 1]
    if a == "--file" and v then o.files[#o.files + 1] = v; i = i + 1
    elseif a == "--jobs" and tonumber(v) then o.jobs = tonumber(v); i = i + 1
    elseif a == "--wait" and tonumber(v) then o.wait = tonumber(v); i = i + 1
    elseif a == "--mail" and v then o.mail = v; i = i + 1
    elseif a == "--dry-run" then o.dry_run = true
    elseif a:sub(1, 2) == "--" then usage("bad option " .. a)
    else o.targets[#o.targets + 1] = a end
    i = i + 1
  end
  if #o.files == 0 then usage("--file is required") end
  if #o.targets == 0 then usage("no target") end
  return o
end

-- One line per unit: what happened, and the version change if known.
local function unit_line(t)
  local ver = ""
  if t.version_before or t.version_after then
    ver = string.format("  version %s -> %s", t.version_before or "?",
                        t.version_after or "?")
  end
  return string.format("%-24s %-6s %-12s %9d bytes %6.2fs%s%s", t.target,
    t.method, t.result, t.bytes, t.seconds, ver,
    t.message and ("  (" .. t.message .. ")") or "")
end

local function summary(rep)
  local lines = {}
  for _, f in ipairs(rep.files) do
    lines[#lines + 1] = string.format("file %s: %d bytes, sha256 %s",
                                      f.path, f.size, f.sha256)
  end
  for _, t in ipairs(rep.targets) do lines[#lines + 1] = unit_line(t) end
  lines[#lines + 1] = string.format("%d ok, %d failed in %.1fs%s", rep.ok,
    rep.failed, rep.seconds, rep.dry_run and " (dry run)" or "")
  return table.concat(lines, "\n") .. "\n"
end

local function mail(to, subject, body)
  local p = io.popen(string.format("mail -s %q %q", subject, to), "w")
  if not p then return nil, "cannot run mail(1)" end
  p:write(body)
  return p:close()
end

local o = parse_args(arg)
local rep, err = ohm.upgrade{ files = o.files, targets = o.targets,
                              jobs = o.jobs, wait = o.wait,
                              dry_run = o.dry_run }
if not rep then
  io.stderr:write("batch-upgrade: ", err, "\n")
  os.exit(2)
end
local text = summary(rep)
io.write(text)
if o.mail then
  local subject = string.format("ohm upgrade: %d ok, %d failed", rep.ok,
                                rep.failed)
  local ok, merr = mail(o.mail, subject, text)
  if not ok then io.stderr:write("batch-upgrade: mail: ", tostring(merr), "\n") end
end
os.exit(rep.status)
