// An independent OPC UA peer: a node-opcua server for tests/ingest/test_opcua_peer.py.
//
// usage: node server.js PORT PKI_DIR
// Objects/1:Line1 (folder) / 1:Filler (object) holds Speed (Double, writable), Count (UInt32,
// read-only), Running (Boolean, writable), Temperature (Float), Mode (Int16, writable) and Ramp
// (Int32, +1 every 100 ms), NodeIds ns=1;s=Filler.<Name>. Prints "ready PORT" once listening and
// "wrote NAME VALUE" whenever a client writes a value. Reads "set NAME VALUE" and "status NAME CODE"
// lines on stdin (the test changes values and StatusCodes through them).
"use strict";
const path = require("path");
const readline = require("readline");
const { OPCUAServer, OPCUACertificateManager, Variant, DataType, StatusCodes, DataValue } = require("node-opcua");

const port = Number(process.argv[2]);
const pki = process.argv[3];

const VARS = {
  Speed: { type: DataType.Double, value: 612.5, writable: true },
  Count: { type: DataType.UInt32, value: 123456, writable: false },
  Running: { type: DataType.Boolean, value: true, writable: true },
  Temperature: { type: DataType.Float, value: 68.0, writable: true },
  Mode: { type: DataType.Int16, value: -3, writable: true },
  Ramp: { type: DataType.Int32, value: 0, writable: false },
};

async function main() {
  const serverCertificateManager = new OPCUACertificateManager({
    rootFolder: path.join(pki, "server"),
    automaticallyAcceptUnknownCertificate: true,
  });
  const server = new OPCUAServer({
    port,
    hostname: "127.0.0.1",
    serverCertificateManager,
    buildInfo: { productName: "twinverse node-opcua peer" },
    allowAnonymous: true,
  });
  await server.initialize();
  const addressSpace = server.engine.addressSpace;
  const ns = addressSpace.getOwnNamespace();
  const line = ns.addFolder(addressSpace.rootFolder.objects, { browseName: "Line1", nodeId: "s=Line1" });
  const filler = ns.addObject({ organizedBy: line, browseName: "Filler", nodeId: "s=Filler" });
  const nodes = {};
  for (const [name, v] of Object.entries(VARS)) {
    const access = v.writable ? "CurrentRead | CurrentWrite" : "CurrentRead";
    const node = ns.addVariable({
      componentOf: filler, browseName: name, nodeId: `s=Filler.${name}`, dataType: DataType[v.type],
      accessLevel: access, userAccessLevel: access,
    });
    node.setValueFromSource(new Variant({ dataType: v.type, value: v.value }), StatusCodes.Good, new Date());
    nodes[name] = node;
  }
  // Writes by clients: node-opcua calls writeValue; report what arrived (value and type).
  for (const [name, node] of Object.entries(nodes)) {
    const original = node.writeValue.bind(node);
    node.writeValue = function (context, dataValue, indexRange, callback) {
      const cb = typeof indexRange === "function" ? indexRange : callback;
      const done = (err, status) => {
        if (!err && status && status.isGood()) {
          console.log(`wrote ${name} ${JSON.stringify(dataValue.value.value)} ${DataType[dataValue.value.dataType]}`);
        }
        cb(err, status);
      };
      return typeof indexRange === "function" ? original(context, dataValue, done) : original(context, dataValue, indexRange, done);
    };
  }
  let ramp = 0;
  setInterval(() => {
    ramp += 1;
    nodes.Ramp.setValueFromSource(new Variant({ dataType: DataType.Int32, value: ramp }), StatusCodes.Good, new Date());
  }, 100);
  const rl = readline.createInterface({ input: process.stdin });
  rl.on("line", (text) => {
    const [op, name, value] = text.trim().split(/\s+/);
    const node = nodes[name];
    if (!node) return;
    if (op === "set") {
      const v = VARS[name];
      const val = v.type === DataType.Boolean ? value === "true" : Number(value);
      node.setValueFromSource(new Variant({ dataType: v.type, value: val }), StatusCodes.Good, new Date());
    } else if (op === "status") {
      const current = node.readValue().value;
      node.setValueFromSource(current, StatusCodes[value], new Date());
    }
    console.log(`done ${text.trim()}`);
  });
  await server.start();
  console.log(`ready ${port}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
