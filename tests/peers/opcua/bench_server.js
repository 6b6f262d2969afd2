// The server of benchmarks/bench_opcua.py --server node: node-opcua with N Double variables
// (namespace "urn:bench", NodeIds i=1..N, 100 per object), all rewritten in a loop as fast as
// the server can, yielding to the event loop every 500 writes. Prints "EPOCH_SECONDS WRITES"
// progress lines, as the asyncua server of the benchmark does.
"use strict";
const path = require("path");
const { OPCUAServer, OPCUACertificateManager, Variant, DataType, StatusCodes } = require("node-opcua");

const port = Number(process.argv[2]);
const items = Number(process.argv[3]);
const pki = process.argv[4];

async function main() {
  const server = new OPCUAServer({
    port, hostname: "127.0.0.1", allowAnonymous: true,
    serverCertificateManager: new OPCUACertificateManager({ rootFolder: path.join(pki, "bench"),
                                                            automaticallyAcceptUnknownCertificate: true }),
    serverCapabilities: { maxMonitoredItemsPerSubscription: 100000, maxMonitoredItems: 1000000 },
  });
  await server.initialize();
  const addressSpace = server.engine.addressSpace;
  const ns = addressSpace.registerNamespace("urn:bench");
  const vars = [];
  let parent = null;
  for (let i = 0; i < items; i++) {
    if (i % 100 === 0) parent = ns.addObject({ organizedBy: addressSpace.rootFolder.objects, browseName: `B${i / 100}`, nodeId: `s=B${i / 100}` });
    const v = ns.addVariable({ componentOf: parent, browseName: `v${i}`, nodeId: `i=${i + 1}`, dataType: "Double" });
    v.setValueFromSource(new Variant({ dataType: DataType.Double, value: 0 }), StatusCodes.Good, new Date());
    vars.push(v);
  }
  await server.start();
  let k = 0;
  let writes = 0;
  const loop = (start) => {
    const now = new Date();
    for (let i = start; i < Math.min(start + 500, items); i++) {
      vars[i].setValueFromSource(new Variant({ dataType: DataType.Double, value: k * 10 + (i % 7) }), StatusCodes.Good, now);
      writes++;
    }
    process.stdout.write(`${(Date.now() / 1000).toFixed(3)} ${writes}\n`);
    let next = start + 500;
    if (next >= items) { next = 0; k++; }
    setImmediate(() => loop(next));
  };
  loop(0);
}

main().catch((err) => { console.error(err); process.exit(1); });
