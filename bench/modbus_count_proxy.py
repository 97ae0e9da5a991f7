#!/usr/bin/python3
"""A Modbus TCP proxy that counts requests (MBAP frames client -> server).

    modbus_count_proxy.py LISTEN_PORT SERVER_PORT COUNT_FILE
Each accepted connection is forwarded to 127.0.0.1:SERVER_PORT; after every
request the running total is written to COUNT_FILE. Used by bench/core.sh to
show that a full BPS2000v2 read costs one request."""
import socket, struct, sys, threading

listen_port, server_port, count_file = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
count = 0
lock = threading.Lock()


def pump_requests(src, dst):
    global count
    buf = b""
    while True:
        data = src.recv(4096)
        if not data:
            break
        buf += data
        # counted before it is forwarded: the count is written before the
        # server can answer, so a client that reads it after its reply
        # sees its own requests
        while len(buf) >= 6:
            length = struct.unpack(">H", buf[4:6])[0]
            if len(buf) < 6 + length:
                break
            buf = buf[6 + length:]
            with lock:
                count += 1
                with open(count_file, "w") as f:
                    f.write(str(count))
        dst.sendall(data)
    dst.shutdown(socket.SHUT_WR)


def pump(src, dst):
    while True:
        data = src.recv(4096)
        if not data:
            break
        dst.sendall(data)
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def serve(client):
    server = socket.create_connection(("127.0.0.1", server_port))
    t = threading.Thread(target=pump, args=(server, client), daemon=True)
    t.start()
    try:
        pump_requests(client, server)
    except OSError:
        pass
    t.join(5)
    client.close()
    server.close()


ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", listen_port))
ls.listen(16)
while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
