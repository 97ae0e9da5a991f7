#!/usr/bin/python3
"""Read the 99 BPS2000v2 holding registers once with python3-pymodbus."""
import sys
from pymodbus.client import ModbusTcpClient

c = ModbusTcpClient("127.0.0.1", port=int(sys.argv[1]))
c.connect()
r = c.read_holding_registers(0, 99, slave=1)
if r.isError() or len(r.registers) != 99:
    sys.exit("pymodbus read failed: %s" % r)
c.close()
