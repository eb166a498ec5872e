// Compiles contracts/l1/*.sol with the solc-js given in SOLC_DIR (see build.sh) and writes
// contracts/out/<Contract>.json ({contractName, abi, bytecode}) and abis/<Contract>.json (the ABI).
import { readFileSync, writeFileSync, readdirSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(process.env.SOLC_DIR, "package.json"));
const solc = require("solc");

const srcDir = join(here, "l1");
const sources = {};
for (const f of readdirSync(srcDir).filter((f) => f.endsWith(".sol")).sort()) {
  sources[f] = { content: readFileSync(join(srcDir, f), "utf8") };
}
const input = {
  language: "Solidity",
  sources,
  settings: {
    optimizer: { enabled: true, runs: 200 },
    viaIR: true,
    evmVersion: "cancun",
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
  },
};
const out = JSON.parse(solc.compile(JSON.stringify(input)));
let failed = false;
for (const e of out.errors ?? []) {
  console.error(e.formattedMessage);
  if (e.severity === "error") failed = true;
}
if (failed) process.exit(1);

// The deployable contracts and token interfaces the adapters call.
const wanted = ["StarkExCore", "Registration", "StarkGateBridge", "StarknetMessaging", "NftBridge", "TestERC20", "TestERC721"];
mkdirSync(join(here, "out"), { recursive: true });
mkdirSync(join(here, "..", "abis"), { recursive: true });
for (const [file, contracts] of Object.entries(out.contracts)) {
  for (const [name, c] of Object.entries(contracts)) {
    if (!wanted.includes(name)) continue;
    const artifact = { contractName: name, source: `contracts/l1/${file}`, compiler: `solc ${solc.version()}`, abi: c.abi, bytecode: "0x" + c.evm.bytecode.object };
    writeFileSync(join(here, "out", `${name}.json`), JSON.stringify(artifact, null, 2) + "\n");
    writeFileSync(join(here, "..", "abis", `${name}.json`), JSON.stringify(c.abi, null, 2) + "\n");
    console.log(`${name}: ${c.evm.bytecode.object.length / 2} bytes`);
  }
}
