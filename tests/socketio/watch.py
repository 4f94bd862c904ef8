# A fan's Socket.IO client (the official python-socketio 5), driven by the Rust tests; the same
# protocol as watch.mjs: connects with `auth={token}`, joins the queue and event rooms of
# EVENT_ID, and prints one JSON line per thing that happens (connect, with the transport in use;
# connect_error; disconnect; every server event). It exits after EXIT_ON arrives, or after
# TIMEOUT_MS, or on connect_error or disconnect. TRANSPORT is `websocket` (default) or `polling`.
#
#   python watch.py URL TOKEN EVENT_ID [EXIT_ON] [TIMEOUT_MS] [TRANSPORT]
import importlib.metadata
import json
import os
import sys
import threading
import time

import socketio

url, token, event_id = sys.argv[1:4]
exit_on = sys.argv[4] if len(sys.argv) > 4 else "queue-entry-allowed"
timeout_ms = int(sys.argv[5]) if len(sys.argv) > 5 else 20000
transport = sys.argv[6] if len(sys.argv) > 6 else "websocket"

done = threading.Event()
lock = threading.Lock()


def emit_line(obj):
    with lock:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()


sio = socketio.Client(reconnection=False)


@sio.event
def connect():
    emit_line({
        "type": "connect",
        "id": sio.get_sid(),
        "client": "python-socketio " + importlib.metadata.version("python-socketio"),
        "transport": sio.transport(),
    })
    sio.emit("join-queue", {"eventId": event_id})
    sio.emit("join-event", {"eventId": event_id})


@sio.event
def connect_error(data):
    emit_line({"type": "connect_error", "message": str(data)})
    done.set()


@sio.event
def disconnect(reason=None):
    emit_line({"type": "disconnect", "reason": str(reason)})
    done.set()


@sio.on("*")
def any_event(event, *args):
    data = args[0] if len(args) == 1 else list(args)
    emit_line({"type": "event", "event": event, "data": data, "at": int(time.time() * 1000)})
    if event == exit_on:
        done.set()


try:
    sio.connect(
        url,
        auth={"token": token},
        transports=["polling"] if transport == "polling" else ["websocket"],
        wait_timeout=10,
    )
except socketio.exceptions.ConnectionError as err:
    # A refusal arrives through connect_error first; a transport failure only here.
    if not done.is_set():
        emit_line({"type": "connect_error", "message": str(err)})
    done.set()

if not done.wait(timeout_ms / 1000):
    emit_line({"type": "timeout"})
try:
    sio.disconnect()
finally:
    sys.stdout.flush()
    os._exit(0)
