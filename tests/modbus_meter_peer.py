"""A Modbus TCP energy meter for ohm's map tests (Debian's python3-pymodbus).

  modbus_meter_peer.py PORT LOG
  modbus_meter_peer.py rtu TTY UNIT[,UNIT...]
      a pymodbus RTU server on TTY answering only those unit ids (each
      with 10 holding registers), for `ohm scan`.

Unit 1 holds input registers 0-8 and 11-16 (9 and 10 are missing: a read
across them answers exception 02), holding registers 0-9, coils 0-1 and
discrete inputs 0-1, with the values tests/e2e/modbus_maps.py expects.
Every read or write of a table is appended to LOG as
"TABLE read ADDR COUNT" / "TABLE write ADDR V,V..".
"""
import struct
import sys


def words(fmt, x):
    b = struct.pack(fmt, x)
    return [int.from_bytes(b[i:i + 2], "big") for i in range(0, len(b), 2)]


def swap_words(w):
    return list(reversed(w))


def swap_bytes(w):
    return [((x & 0xff) << 8) | (x >> 8) for x in w]


IR = {}
for a, ws in ((0, words(">f", 230.5)),                        # ABCD
              (2, swap_words(words(">f", 12.25))),            # CDAB
              (4, words(">Q", 123456789012)),                 # u64 ABCD
              (8, words(">h", -12)),                          # s16
              (11, swap_bytes(swap_words(words(">i", -1500)))),  # s32 DCBA
              (13, swap_bytes(words(">d", 49.75)))):          # f64 BADC
    for i, w in enumerate(ws):
        IR[a + i] = w
HR = [100] + words(">I", 70000) + [1, 5] + [0] * 5
CO = [0, 1]
DI = [1, 0]


def main():
    from pymodbus.datastore import (ModbusSequentialDataBlock,
                                    ModbusSparseDataBlock,
                                    ModbusServerContext, ModbusSlaveContext)
    from pymodbus.server import StartTcpServer
    log = sys.argv[2]

    def logged(base, name):
        class Block(base):
            def _log(self, line):
                with open(log, "a") as f:
                    f.write(name + " " + line + "\n")

            def getValues(self, address, count=1):
                self._log(f"read {address} {count}")
                return super().getValues(address, count)

            def setValues(self, address, values):
                if not isinstance(values, list):
                    values = [values]
                self._log("write %d %s" % (address,
                                           ",".join(str(int(v))
                                                    for v in values)))
                return super().setValues(address, values)
        return Block

    slave = ModbusSlaveContext(
        ir=logged(ModbusSparseDataBlock, "ir")(IR),
        hr=logged(ModbusSequentialDataBlock, "hr")(0, HR),
        co=logged(ModbusSequentialDataBlock, "co")(0, CO),
        di=logged(ModbusSequentialDataBlock, "di")(0, DI),
        zero_mode=True)
    ctx = ModbusServerContext(slaves={1: slave}, single=False)
    StartTcpServer(context=ctx, address=("127.0.0.1", int(sys.argv[1])))


def rtu():
    from pymodbus.datastore import (ModbusSequentialDataBlock,
                                    ModbusServerContext, ModbusSlaveContext)
    from pymodbus.server import StartSerialServer
    from pymodbus.transaction import ModbusRtuFramer
    units = [int(u) for u in sys.argv[3].split(",")]
    slaves = {u: ModbusSlaveContext(hr=ModbusSequentialDataBlock(0, [u] * 10),
                                    zero_mode=True) for u in units}
    ctx = ModbusServerContext(slaves=slaves, single=False)
    StartSerialServer(context=ctx, framer=ModbusRtuFramer, port=sys.argv[2],
                      baudrate=9600, timeout=0.05)


if __name__ == "__main__":
    rtu() if sys.argv[1] == "rtu" else main()
