"""The reference for bench/relay.py: a bare asyncio relay (the `websockets` library) that
pairs two sockets per /ws/<room>, takes their join and greets them as the app does, and
only forwards frames: no checks, no secrets, no limits, no threads. Whatever the app costs above this is its own."""

import asyncio
import json
import sys

from websockets.asyncio.server import serve

rooms = {}


async def relay(websocket):
    await websocket.recv()  # the join, whose secret it does not check
    room = rooms.setdefault(websocket.request.path, [])
    room.append(websocket)
    await websocket.send(json.dumps({"type": "welcome", "peers": len(room) - 1}))
    if len(room) == 2:
        await room[0].send(json.dumps({"type": "peer-joined"}))
    try:
        async for frame in websocket:
            for other in room:
                if other is not websocket:
                    await other.send(frame)
    finally:
        room.remove(websocket)


async def main(port):
    async with serve(relay, "127.0.0.1", port, max_size=None, compression=None):
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
