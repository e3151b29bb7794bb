"""The page, and a signaling server for rooms of up to four people. Each person gets an
id; a message names whom it is for (`to`), and the server hands it to that person only,
saying whom it is from (`from`). Video and sound go directly between every two browsers
in the room: a mesh."""

import contextlib
import json
import secrets
import socket
import threading
from pathlib import Path

from flask import Flask, send_from_directory
from flask_sock import Sock
from simple_websocket import ConnectionClosed

HERE = Path(__file__).parent
GROUP_SIZE = 4  # each person sends their video once to every other: see the chapter
app = Flask(__name__)
sock = Sock(app)

rooms = {}  # room name -> {id: socket} of the people in it, in the order they came
# flask-sock gives each socket a thread of its own. Writing happens under this lock too:
# two threads writing to one socket at once would mix their frames.
lock = threading.Lock()


@app.get("/")
def index():
    return send_from_directory(HERE, "index.html")


@app.get("/<name>.js")
def script(name):
    return send_from_directory(HERE, f"{name}.js")


def send(ws, message):
    """Only with the lock held."""
    try:
        ws.send(json.dumps(message))
    except ConnectionClosed:
        pass  # they are leaving; their own thread removes them


@sock.route("/ws/<room>")
def signaling(ws, room):
    try:
        visit(ws, room)
    finally:
        # After a WebSocket route, Werkzeug's development server writes an HTTP response
        # into the socket, which browsers report as "Invalid frame header": end it first.
        with contextlib.suppress(OSError):  # unless the browser has already ended it
            ws.sock.shutdown(socket.SHUT_RDWR)


def visit(ws, room):
    me = secrets.token_hex(4)
    with lock:
        people = rooms.setdefault(room, {})
        full = len(people) == GROUP_SIZE
        if not full:
            # Under the lock, so that nothing reaches us before our welcome. Everyone
            # already there calls us; we are polite toward each of them.
            send(ws, {"type": "welcome", "id": me, "members": list(people)})
            for other in people.values():
                send(other, {"type": "peer-joined", "id": me})
            people[me] = ws
    if full:
        ws.close(message="Four people are already in this room.")
        return
    try:
        while True:
            message = json.loads(ws.receive())
            # To the one person it names, and no one else, saying who sent it.
            message["from"] = me
            with lock:
                to = people.get(message.pop("to", None))
                if to is not None:  # they may have just left
                    send(to, message)
    except ConnectionClosed:
        pass
    finally:
        with lock:
            del people[me]
            if not people:
                del rooms[room]
            for other in people.values():
                send(other, {"type": "peer-left", "id": me})
