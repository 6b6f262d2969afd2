"""An independent Sparkplug B edge node for the tests: pysparkplug (PyPI), in its own venv (.venv-peers).

    .venv-peers/bin/python pysparkplug_edge.py HOST PORT GROUP NODE DEVICE N_METRICS

Driven by JSON lines on stdin ({"op": "data", "values": {...}}, {"op": "reconnect"}, {"op": "stop"}),
reporting JSON lines on stdout. pysparkplug sends metrics by name and alias and has no rebirth of its
own: a Rebirth NCMD is answered by reconnecting (a clean NDEATH, then new births).
"""

import json
import sys
import threading

import pysparkplug as psp

host, port, group, node, device, n = sys.argv[1], int(sys.argv[2]), *sys.argv[3:6], int(sys.argv[6])
names = [f"m{i}" for i in range(n)]
lock = threading.Lock()


def say(obj: dict) -> None:
    with lock:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()


def metric(i: int, value: float) -> psp.Metric:
    return psp.Metric(
        timestamp=psp.get_current_timestamp(),
        name=names[i],
        alias=i + 1,
        datatype=psp.DataType.DOUBLE,
        value=float(value),
    )


def on_ncmd(edge: psp.EdgeNode, message: psp.Message) -> None:
    for m in message.payload.metrics:
        if m.name == "Node Control/Rebirth" and m.value:
            say({"event": "ncmd", "rebirth": True})
            threading.Thread(target=rebirth, daemon=True).start()


def rebirth() -> None:
    edge.disconnect()
    edge.connect(host, port=port, blocking=False)
    say({"event": "birth"})


def on_dcmd(edge: psp.EdgeNode, message: psp.Message) -> None:
    for m in message.payload.metrics:
        say({"event": "dcmd", "name": m.name, "value": m.value})
        edge.update_device(device, [metric(names.index(m.name), m.value)])


edge = psp.EdgeNode(
    group,
    node,
    [
        psp.Metric(
            timestamp=psp.get_current_timestamp(),
            name="Node Control/Rebirth",
            datatype=psp.DataType.BOOLEAN,
            value=False,
        )
    ],
    cmd_callback=on_ncmd,
)
edge.register(psp.Device(device, [metric(i, i) for i in range(n)], cmd_callback=on_dcmd))
edge.connect(host, port=port, blocking=False)
say({"event": "birth"})
for line in sys.stdin:
    cmd = json.loads(line)
    if cmd["op"] == "data":
        edge.update_device(device, [metric(names.index(k), v) for k, v in cmd["values"].items()])
        say({"event": "sent"})
    elif cmd["op"] == "reconnect":
        rebirth()
    elif cmd["op"] == "stop":
        edge.disconnect()
        break
