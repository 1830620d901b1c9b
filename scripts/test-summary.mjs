// Prints vitest's totals as one plain line ("N passed, N failed, N skipped") for CI logs.
import { readFileSync } from "node:fs";
const file = process.argv[2] ?? ".tmp/vitest-report.json";
const r = JSON.parse(readFileSync(file, "utf8"));
console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
