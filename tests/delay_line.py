"""Hold every packet of a netfilter queue for a fixed time, then let it go: a link's delay
where the kernel has no netem (some VM kernels). Run it as root in the namespace whose
iptables rule queues the packets, for example on a router's uplink:

    iptables -A FORWARD -o wan -j NFQUEUE --queue-num 0
    python tests/delay_line.py 0 150        # queue 0, 150 ms

It prints "holding" once it is bound; packets queued before that are dropped by the
kernel. Needs NetfilterQueue (pip install netfilterqueue; Debian: libnetfilter-queue-dev).
"""

import asyncio
import sys

from netfilterqueue import COPY_META, NetfilterQueue


async def hold_packets(queue, delay_ms):
    loop = asyncio.get_running_loop()

    def hold(packet):
        # A packet kept past its callback still counts against max_len until accepted.
        loop.call_later(delay_ms / 1000, packet.accept)

    nfqueue = NetfilterQueue()
    nfqueue.bind(queue, hold, max_len=4096, mode=COPY_META)
    loop.add_reader(nfqueue.get_fd(), nfqueue.run, False)
    print("holding", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(hold_packets(int(sys.argv[1]), float(sys.argv[2])))
