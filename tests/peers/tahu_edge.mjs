// An independent Sparkplug B edge node for the tests: Eclipse Tahu's JavaScript client
// (npm sparkplug-client), driven by JSON lines on stdin, reporting JSON lines on stdout.
//   node tahu_edge.mjs URL GROUP NODE DEVICE N_METRICS
// Commands: {"op": "data", "values": {"m0": 1.5, ...}, "seq": optional, "nulls": [...]},
//           {"op": "kill"} (drop the TCP connection: the broker sends the will; the client reconnects
//           and births again), {"op": "stop"}.
// Events: {"event": "birth"}, {"event": "ncmd", "rebirth": true}, {"event": "dcmd", "name": .., "value": ..}.
import { createRequire } from "node:module";
import readline from "node:readline";

const require = createRequire(import.meta.url);
const sparkplug = require("sparkplug-client");
const [url, groupId, edgeNode, deviceId, nText] = process.argv.slice(2);
const n = Number(nText || "3");
const names = Array.from({ length: n }, (_, i) => `m${i}`);
const values = Object.fromEntries(names.map((name, i) => [name, i * 1.0]));
const say = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

const client = sparkplug.newClient({
  serverUrl: url, username: "", password: "", groupId, edgeNode,
  clientId: `tahu-${groupId}-${edgeNode}`, publishDeath: true, version: "spBv1.0",
  mqttOptions: { reconnectPeriod: 200 },
});

function birth() {
  const now = Date.now();
  client.publishNodeBirth({
    timestamp: now,
    metrics: [{ name: "Node Control/Rebirth", type: "Boolean", value: false }],
  });
  client.publishDeviceBirth(deviceId, {
    timestamp: now,
    metrics: names.map((name, i) => ({
      name, alias: i + 1, type: name === "m1" ? "Int16" : "Double", value: values[name], timestamp: now,
      properties: { engUnit: { type: "String", value: name === "m2" ? "degF" : "" } },
    })),
  });
  say({ event: "birth", bdSeq: client.bdSeq });
}

client.on("birth", birth);
client.on("ncmd", (payload) => {
  for (const m of payload.metrics || []) {
    if (m.name === "Node Control/Rebirth" && m.value) {
      say({ event: "ncmd", rebirth: true });
      birth();
    }
  }
});
client.on("dcmd", (device, payload) => {
  for (const m of payload.metrics || []) {
    say({ event: "dcmd", device, name: m.name, value: m.value });
    values[m.name] = m.value;
    client.publishDeviceData(deviceId, { timestamp: Date.now(), metrics: [{ name: m.name, alias: names.indexOf(m.name) + 1,
      type: m.name === "m1" ? "Int16" : "Double", value: m.value }] });
  }
});

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  const cmd = JSON.parse(line);
  if (cmd.op === "data") {
    const now = Date.now();
    if (cmd.seq !== undefined) client.seq = cmd.seq;
    const metrics = Object.entries(cmd.values).map(([name, value]) => {
      values[name] = value;
      return { alias: names.indexOf(name) + 1, type: name === "m1" ? "Int16" : "Double", value, timestamp: now };
    });
    for (const name of cmd.nulls || []) metrics.push({ alias: names.indexOf(name) + 1, type: "Double", value: null,
                                                       isNull: true, timestamp: now });
    client.publishDeviceData(deviceId, { timestamp: now, metrics });
    say({ event: "sent", seq: (client.seq + 255) % 256 });
  } else if (cmd.op === "kill") {
    client.client.stream.destroy();
    say({ event: "killed" });
  } else if (cmd.op === "stop") {
    client.stop();
    setTimeout(() => process.exit(0), 200);
  }
});
