#!/usr/bin/env node
// A `solc` for forge, backed by solc-js from npm (no native solc is published in any
// registry). forge only asks `solc --version` and `solc --standard-json` (input on
// stdin, sources inlined), so that is all this answers.
"use strict";
const path = require("path");
const solc = require(path.join(__dirname, "..", "node_modules", "solc"));

const args = process.argv.slice(2);
if (args.includes("--version")) {
  process.stdout.write(
    `solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`
  );
  process.exit(0);
}
if (!args.includes("--standard-json")) {
  process.stderr.write("solc.cjs: only --version and --standard-json are supported\n");
  process.exit(2);
}
let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const fs = require("fs");
  const base = process.cwd();
  const findImports = (p) => {
    for (const root of [base, __dirname, path.join(__dirname, "..")]) {
      const full = path.resolve(root, p);
      if (fs.existsSync(full)) return { contents: fs.readFileSync(full, "utf8") };
    }
    return { error: `File not found: ${p}` };
  };
  process.stdout.write(solc.compile(input, { import: findImports }));
});
