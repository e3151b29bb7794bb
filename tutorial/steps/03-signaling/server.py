"""The page, and a signaling server that relays each message of one person to the other
person in the same room. It only introduces the two browsers: their video and sound go
directly between them."""

import contextlib
import json
import socket
import threading
from pathlib import Path

from flask import Flask, send_from_directory
from flask_sock import Sock
from simple_websocket import ConnectionClosed

HERE = Path(__file__).parent
app = Flask(__name__)
sock = Sock(app)

rooms = {}  # room name -> the sockets of the people in it
lock = threading.Lock()  # flask-sock gives each socket a thread of its own


@app.get("/")
def index():
    return send_from_directory(HERE, "index.html")


@app.get("/<name>.js")
def script(name):
    return send_from_directory(HERE, f"{name}.js")


def send_to_others(room, ws, message):
    with lock:
        others = [other for other in rooms.get(room, []) if other is not ws]
    for other in others:
        try:
            other.send(json.dumps(message))
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
    with lock:
        people = rooms.setdefault(room, [])
        others = len(people)
        if others < 2:
            people.append(ws)
    if others == 2:
        ws.close(message="Two people are already in this room.")
        return
    # Who was there first makes the offer; the server tells each person which one they are.
    ws.send(json.dumps({"type": "welcome", "others": others}))
    send_to_others(room, ws, {"type": "peer-joined"})
    try:
        while True:
            send_to_others(room, ws, json.loads(ws.receive()))
    except ConnectionClosed:
        pass
    finally:
        with lock:
            people.remove(ws)
            if not people:
                del rooms[room]
        send_to_others(room, ws, {"type": "peer-left"})
