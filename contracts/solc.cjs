#!/usr/bin/env node
// A `solc` for forge, backed by solc-js from npm (no native solc is published in any
// registry). forge only asks `solc --version` and `solc --standard-json` (input on
// stdin, sources inlined), so that is all this answers.
//
// solc-js runs in a WebAssembly instance whose heap cannot grow past its limit, and a
// via-IR build of every contract in one instance exceeds it ("memory access out of
// bounds"). So a request for many files is split: each group of files gets its own
// child process (a fresh heap) that sees every source but emits output only for its
// group, and the children's outputs are merged into one answer. Source ids agree across
// children because every child compiles the same set of sources.
"use strict";
const path = require("path");
const { spawn } = require("child_process");

const solcPath = path.join(__dirname, "..", "node_modules", "solc");
// Characters of Solidity source one child may hold (the whole project is ~1.2 M).
const BUDGET = Number(process.env.P2PFL_SOLC_BUDGET || 600000);
const PARALLEL = Number(process.env.P2PFL_SOLC_JOBS || 2);

const args = process.argv.slice(2);
if (args.includes("--version")) {
  const solc = require(solcPath);
  process.stdout.write(
    `solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`
  );
  process.exit(0);
}
if (!args.includes("--standard-json")) {
  process.stderr.write("solc.cjs: only --version and --standard-json are supported\n");
  process.exit(2);
}

function compileHere(input) {
  const fs = require("fs");
  const solc = require(solcPath);
  const base = process.cwd();
  const findImports = (p) => {
    for (const root of [base, __dirname, path.join(__dirname, "..")]) {
      const full = path.resolve(root, p);
      if (fs.existsSync(full)) return { contents: fs.readFileSync(full, "utf8") };
    }
    return { error: `File not found: ${p}` };
  };
  return solc.compile(input, { import: findImports });
}

// The import graph, from one parse-only pass of solc (it resolves remappings itself).
function importGraph(parsed) {
  const probe = {
    language: parsed.language,
    sources: parsed.sources,
    settings: {
      remappings: parsed.settings.remappings || [],
      stopAfter: "parsing",
      outputSelection: { "*": { "": ["ast"] } },
    },
  };
  const out = JSON.parse(compileHere(JSON.stringify(probe)));
  const graph = new Map();
  for (const [file, s] of Object.entries(out.sources || {})) {
    const deps = [];
    for (const node of (s.ast && s.ast.nodes) || []) {
      if (node.nodeType === "ImportDirective") deps.push(node.absolutePath);
    }
    graph.set(file, deps);
  }
  return graph;
}

function closure(graph, roots) {
  const seen = new Set();
  const stack = [...roots];
  while (stack.length) {
    const f = stack.pop();
    if (seen.has(f)) continue;
    seen.add(f);
    for (const d of graph.get(f) || []) stack.push(d);
  }
  return seen;
}

// Greedy groups of selected files whose sources together stay under the budget.
function groups(parsed, graph) {
  const size = (files) => {
    let n = 0;
    for (const f of files) n += (parsed.sources[f] && parsed.sources[f].content.length) || 0;
    return n;
  };
  const out = [];
  let files = [];
  let union = new Set();
  for (const f of Object.keys(parsed.settings.outputSelection).sort()) {
    const mine = closure(graph, [f]);
    const next = new Set([...union, ...mine]);
    if (files.length && size(next) > BUDGET) {
      out.push({ files, sources: union });
      files = [];
      union = mine;
    } else union = next;
    files.push(f);
  }
  if (files.length) out.push({ files, sources: union });
  return out;
}

function runChild(input) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [__filename, "--standard-json", "--single"], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (c) => (out += c));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) reject(new Error(`solc.cjs: a compiler child exited with ${code}`));
      else resolve(JSON.parse(out));
    });
    child.stdin.end(input);
  });
}

// A source map's file field (`s:l:f:j:m`, empty = as before) renumbered to global ids.
function renumber(map, ids) {
  if (typeof map !== "string" || map === "") return map;
  return map
    .split(";")
    .map((entry) => {
      const f = entry.split(":");
      if (f.length > 2 && f[2] !== "") f[2] = String(ids.has(Number(f[2])) ? ids.get(Number(f[2])) : -1);
      return f.join(":");
    })
    .join(";");
}

async function compileSplit(parsed, graph) {
  const selection = parsed.settings.outputSelection;
  const parts = groups(parsed, graph);
  const results = new Array(parts.length);
  let next = 0;
  const worker = async () => {
    while (next < parts.length) {
      const i = next++;
      const sel = {};
      for (const f of parts[i].files) sel[f] = selection[f];
      const sources = {};
      for (const f of [...parts[i].sources].sort()) sources[f] = parsed.sources[f];
      const input = { ...parsed, sources, settings: { ...parsed.settings, outputSelection: sel } };
      results[i] = await runChild(JSON.stringify(input));
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, parts.length) }, worker));
  // Global ids: solc numbers source units in name order; each child numbered its subset.
  const global = new Map(Object.keys(parsed.sources).sort().map((f, i) => [f, i]));
  const merged = { contracts: {}, sources: {}, errors: [] };
  for (const [f, id] of global) merged.sources[f] = { id };
  const seen = new Set();
  for (const r of results) {
    const ids = new Map();
    for (const [f, s] of Object.entries(r.sources || {})) ids.set(s.id, global.get(f));
    for (const [file, byName] of Object.entries(r.contracts || {})) {
      if (!(file in selection)) continue;
      for (const c of Object.values(byName)) {
        for (const code of [c.evm && c.evm.bytecode, c.evm && c.evm.deployedBytecode]) {
          if (code && code.sourceMap !== undefined) code.sourceMap = renumber(code.sourceMap, ids);
        }
      }
      merged.contracts[file] = byName;
    }
    for (const e of r.errors || []) {
      const key = e.formattedMessage || e.message;
      if (!seen.has(key)) {
        seen.add(key);
        merged.errors.push(e);
      }
    }
  }
  return merged;
}

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const parsed = args.includes("--single") ? null : JSON.parse(input);
  const total = parsed ? Object.values(parsed.sources).reduce((n, s) => n + (s.content || "").length, 0) : 0;
  if (!parsed || total <= BUDGET || !parsed.settings || !parsed.settings.outputSelection) {
    process.stdout.write(compileHere(input));
    return;
  }
  compileSplit(parsed, importGraph(parsed)).then(
    (merged) => process.stdout.write(JSON.stringify(merged)),
    (err) => {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
  );
});
