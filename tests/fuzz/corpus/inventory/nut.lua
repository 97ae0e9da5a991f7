devices = { pdu1 = { uri = "modbus-tcp://127.0.0.1:1502", driver = "bps2000v2", interval = 5 },
  ups1 = { uri = "snmp://u@h?version=3", auth_pass = "abcdefgh" } }
nut = { users = { admin = { password = "x", actions = { "set" }, instcmds = "all" } } }
console = { accounts = { { user = "ops", password = "p", role = "user1" } } }
setmetatable(_G, { __index = function() error"boom" end })
