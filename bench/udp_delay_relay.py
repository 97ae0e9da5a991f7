#!/usr/bin/python3
"""A UDP relay that delays every packet, for the TFTP benchmark (netem is
not available here).

    udp_delay_relay.py --listen PORT --to PORT [--delay-ms 1]

Clients send to 127.0.0.1:LISTEN; the relay forwards to 127.0.0.1:TO and
back, each packet held DELAY ms in each direction (2 x DELAY round trip).
TFTP servers answer from a new port (the transfer ID): the relay sends to
whichever port the server last answered from, and answers the client
always from LISTEN. One client session at a time: a packet from a new
client address starts a new session. Prints "ready PORT" when listening.
"""
import argparse, heapq, select, socket, time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--listen", type=int, required=True)
    p.add_argument("--to", type=int, required=True)
    p.add_argument("--delay-ms", type=float, default=1.0)
    a = p.parse_args()
    delay = a.delay_ms / 1000.0
    down = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    down.bind(("127.0.0.1", a.listen))
    up = None
    client = server = None
    queue, seq = [], 0
    print("ready", a.listen, flush=True)
    while True:
        socks = [down] + ([up] if up else [])
        wait = max(0.0, queue[0][0] - time.monotonic()) if queue else 1.0
        ready, _, _ = select.select(socks, [], [], wait)
        now = time.monotonic()
        for s in ready:
            pkt, frm = s.recvfrom(70000)
            if s is down:
                if frm != client:  # a new session
                    client, server = frm, ("127.0.0.1", a.to)
                    if up:
                        up.close()
                    up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    up.bind(("127.0.0.1", 0))
                heapq.heappush(queue, (now + delay, seq, up, pkt, "server"))
            else:
                server = frm  # the server's transfer ID
                heapq.heappush(queue, (now + delay, seq, down, pkt, client))
            seq += 1
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, s, pkt, dst = heapq.heappop(queue)
            try:
                s.sendto(pkt, server if dst == "server" else dst)
            except OSError:
                pass  # the session's socket was replaced


if __name__ == "__main__":
    main()
