-- ohm.format(value [, mode]): the text of a Lua value, for the REPL and
-- for scripts. mode "table" (readable, the default), "json" or "lua".
-- Embedded into the binary (scripts/embed.sh); loaded by lua/l_ohm.c.
local M = {}

local KEYWORDS = {}
for w in ([[and break do else elseif end false for function goto if in
  local nil not or repeat return then true until while]]):gmatch("%a+") do
  KEYWORDS[w] = true
end

-- Keys in a stable order: integers ascending, then strings, then others.
local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  local rank = { number = 1, string = 2 }
  table.sort(keys, function(a, b)
    local ra, rb = rank[type(a)] or 3, rank[type(b)] or 3
    if ra ~= rb then return ra < rb end
    if ra == 3 then return tostring(a) < tostring(b) end
    return a < b
  end)
  return keys
end

-- n if t is a sequence 1..n with nothing else (n may be 0), else nil.
local function array_len(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  for i = 1, n do if rawget(t, i) == nil then return nil end end
  return n
end

local function num_text(v, json)
  if v ~= v or v == math.huge or v == -math.huge then
    if json then return "null" end
    return v ~= v and "0/0" or (v > 0 and "math.huge" or "-math.huge")
  end
  if math.type(v) == "integer" then return tostring(v) end
  local s = string.format("%.14g", v)
  if json or s:find("[.eEn]") then return s end
  return s .. ".0"
end

local function lua_key(k)
  if type(k) == "string" and k:match("^[%a_][%w_]*$") and not KEYWORDS[k] then
    return k
  end
  return nil
end

local to_lua
local function lua_table(t, indent, seen)
  if seen[t] then return '"<cycle>"' end
  seen[t] = true
  local n, parts, flat = array_len(t), {}, true
  for _, k in ipairs(sorted_keys(t)) do
    local v = t[k]
    if type(v) == "table" then flat = false end
    local val = to_lua(v, indent .. "  ", seen)
    if n then
      parts[#parts + 1] = val
    else
      local key = lua_key(k) or ("[" .. to_lua(k, indent, seen) .. "]")
      parts[#parts + 1] = key .. " = " .. val
    end
  end
  seen[t] = nil
  if #parts == 0 then return "{}" end
  local one = "{ " .. table.concat(parts, ", ") .. " }"
  if flat and #one <= 72 then return one end
  local inner = indent .. "  "
  return "{\n" .. inner .. table.concat(parts, ",\n" .. inner) .. ",\n" ..
    indent .. "}"
end

function to_lua(v, indent, seen)
  local t = type(v)
  if t == "string" then return (string.format("%q", v):gsub("\\\n", "\\n")) end
  if t == "number" then return num_text(v) end
  if t == "table" then return lua_table(v, indent, seen) end
  if t == "boolean" or t == "nil" then return tostring(v) end
  return string.format("%q", tostring(v))
end

local ESC = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }
local function json_str(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return ESC[c] or string.format("\\u%04x", c:byte())
  end) .. '"'
end

local function to_json(v, seen)
  local t = type(v)
  if t == "string" then return json_str(v) end
  if t == "number" then return num_text(v, true) end
  if t == "boolean" then return tostring(v) end
  if t == "nil" then return "null" end
  if t ~= "table" then return json_str(tostring(v)) end
  if seen[v] then error("cannot encode a cyclic table as JSON", 0) end
  seen[v] = true
  local n, parts = array_len(v), {}
  for _, k in ipairs(sorted_keys(v)) do
    local val = to_json(v[k], seen)
    parts[#parts + 1] = (n and n > 0) and val or
      (json_str(tostring(k)) .. ": " .. val)
  end
  seen[v] = nil
  if n and n > 0 then return "[" .. table.concat(parts, ", ") .. "]" end
  return "{" .. table.concat(parts, ", ") .. "}"
end

local function scalar(v)
  local t = type(v)
  return t == "string" or t == "number" or t == "boolean"
end

-- A cell's text; a number is a table {text} (right-aligned).
local function cell(v)
  if type(v) == "number" then return { num_text(v) } end
  return tostring(v)
end

-- Rows of columns, padded to the widest cell: numbers right-aligned,
-- other text left-aligned (the last column then unpadded).
local function columns(rows)
  local w = {}
  for _, r in ipairs(rows) do
    for i, c in ipairs(r) do
      w[i] = math.max(w[i] or 0, #(type(c) == "table" and c[1] or c))
    end
  end
  local out = {}
  for _, r in ipairs(rows) do
    local cells = {}
    for i, c in ipairs(r) do
      if type(c) == "table" then
        cells[i] = string.rep(" ", w[i] - #c[1]) .. c[1]
      else
        cells[i] = i < #r and (c .. string.rep(" ", w[i] - #c)) or c
      end
    end
    out[#out + 1] = (table.concat(cells, "  "):gsub("%s+$", ""))
  end
  return table.concat(out, "\n")
end

-- An array of records with scalar fields (dev:list()): columns with a
-- header, name, unit and access first, desc last. nil if t is not that
-- shape.
local function records(t, n)
  if not n or n == 0 then return nil end
  local seen, cols = {}, {}
  for _, r in ipairs(t) do
    if type(r) ~= "table" or array_len(r) ~= nil then return nil end
    for k, v in pairs(r) do
      if type(k) ~= "string" or not scalar(v) then return nil end
      if not seen[k] then seen[k] = true; cols[#cols + 1] = k end
    end
  end
  local rank = { name = 1, unit = 2, access = 3, desc = 9 }
  table.sort(cols, function(a, b)
    local ra, rb = rank[a] or 5, rank[b] or 5
    if ra ~= rb then return ra < rb end
    return a < b
  end)
  local rows = { {} }
  for i, c in ipairs(cols) do rows[1][i] = c:upper() end
  for _, r in ipairs(t) do
    local row = {}
    for i, c in ipairs(cols) do
      row[i] = r[c] == nil and "" or cell(r[c])
      if type(row[i]) == "table" then -- a number column: header right too
        rows[1][i] = { type(rows[1][i]) == "table" and rows[1][i][1] or rows[1][i] }
      end
    end
    rows[#rows + 1] = row
  end
  return columns(rows)
end

-- A flat map of string keys to scalars: aligned "key  value" lines.
local function record(t, n)
  if n then return nil end
  local rows = {}
  for _, k in ipairs(sorted_keys(t)) do
    if type(k) ~= "string" or not scalar(t[k]) then return nil end
    rows[#rows + 1] = { k, cell(t[k]) }
  end
  return columns(rows)
end

local function readable(v)
  if type(v) == "string" then return v end
  if type(v) ~= "table" then return tostring(v) end
  local mt = getmetatable(v)
  if type(mt) == "table" and mt.__tostring then return tostring(v) end
  local n = array_len(v)
  return records(v, n) or record(v, n) or to_lua(v, "", {})
end

-- A device path object that is a variable (pdu.input.L1.current) formats
-- as its value; groups and failed reads as their text.
local function plain(v)
  if type(v) ~= "userdata" then return v end
  local mt = getmetatable(v)
  if type(mt) ~= "table" or mt.__name ~= "ohm.path" then return v end
  local good, x = pcall(v)
  if good and x ~= nil then return x end
  return v
end

function M.format(v, mode)
  mode = mode or "table"
  v = plain(v)
  if mode == "json" then return to_json(v, {}) end
  if mode == "lua" then return to_lua(v, "", {}) end
  if mode == "table" then return readable(v) end
  error("bad argument #2 to 'format' (invalid mode '" .. tostring(mode) ..
    "')", 2)
end

return M
