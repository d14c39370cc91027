#!/usr/bin/env node
// Compile, execute, prove and verify a Noir circuit with noir_wasm, noir_js and bb.js,
// for p2pfl.zk (Python). One JSON object on stdout per call; errors on stderr, exit 1.
//   krum.mjs compile <project-dir> <program.json>
//   krum.mjs execute <program.json> <inputs.json>
//   krum.mjs prove   <program.json> <inputs.json> <out-dir> <target>   (evm | evm-no-zk; verified)
//   krum.mjs vk      <program.json> <target> <vk-file>   (the verification key, written raw)
// bb.js in Node runs the native `bb`, which reads the setup from $HOME/.bb-crs: the
// caller sets HOME (p2pfl.zk.toolchain does), nothing is downloaded.
import crypto from "crypto";
import fs from "fs";
import path from "path";
import { compile, createFileManager } from "@noir-lang/noir_wasm";
import { Noir } from "@noir-lang/noir_js";
import { Barretenberg, UltraHonkBackend } from "@aztec/bb.js";

const [cmd, ...args] = process.argv.slice(2);
const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

async function execute(programPath, inputsPath) {
  const program = JSON.parse(fs.readFileSync(programPath, "utf8"));
  const inputs = JSON.parse(fs.readFileSync(inputsPath, "utf8"));
  const t0 = Date.now();
  const { witness } = await new Noir(program).execute(inputs);
  return { program, witness, executeMs: Date.now() - t0 };
}

try {
  if (cmd === "compile") {
    const [dir, programPath] = args;
    const t0 = Date.now();
    const { program } = await compile(createFileManager(path.resolve(dir)));
    fs.writeFileSync(programPath, JSON.stringify(program));
    out({ compile_ms: Date.now() - t0 });
  } else if (cmd === "execute") {
    const { executeMs } = await execute(args[0], args[1]);
    out({ execute_ms: executeMs });
  } else if (cmd === "prove") {
    const [programPath, inputsPath, outDir, target] = args;
    if (target !== "evm" && target !== "evm-no-zk") throw new Error(`unknown verifier target ${target}`);
    const { program, witness, executeMs } = await execute(programPath, inputsPath);
    const api = await Barretenberg.new({ threads: 2, srsSize: Number(process.env.P2PFL_SRS_SIZE || 2 ** 15) });
    try {
      const backend = new UltraHonkBackend(program.bytecode, api);
      const t0 = Date.now();
      const proof = await backend.generateProof(witness, { verifierTarget: target });
      const proveMs = Date.now() - t0;
      const verified = await backend.verifyProof(proof, { verifierTarget: target });
      fs.mkdirSync(outDir, { recursive: true });
      fs.writeFileSync(path.join(outDir, "proof.bin"), proof.proof);
      fs.writeFileSync(path.join(outDir, "public_inputs.json"), JSON.stringify(proof.publicInputs));
      out({ execute_ms: executeMs, prove_ms: proveMs, verified, public_inputs: proof.publicInputs.length });
    } finally {
      await api.destroy();
    }
  } else if (cmd === "vk") {
    const [programPath, target, vkPath] = args;
    if (target !== "evm" && target !== "evm-no-zk") throw new Error(`unknown verifier target ${target}`);
    const program = JSON.parse(fs.readFileSync(programPath, "utf8"));
    const api = await Barretenberg.new({ threads: 2, srsSize: Number(process.env.P2PFL_SRS_SIZE || 2 ** 15) });
    try {
      const backend = new UltraHonkBackend(program.bytecode, api);
      const t0 = Date.now();
      const vk = await backend.getVerificationKey({ verifierTarget: target });
      fs.writeFileSync(vkPath, vk);
      const sha256 = crypto.createHash("sha256").update(vk).digest("hex");
      out({ vk_ms: Date.now() - t0, vk_bytes: vk.length, sha256 });
    } finally {
      await api.destroy();
    }
  } else {
    throw new Error(`unknown command ${cmd}: use compile, execute, prove or vk`);
  }
} catch (err) {
  const detail = err && err.callStack ? ` (${err.callStack.join("; ")})` : "";
  process.stderr.write(`${err && err.message ? err.message : err}${detail}\n`);
  process.exit(1);
}
