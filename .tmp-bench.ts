import { measurePostgresThroughput } from "./host/src/platform/bench-postgres.ts";
const t0 = Date.now();
const r = await measurePostgresThroughput();
console.log(JSON.stringify(r, null, 1));
console.log("took", (Date.now() - t0) / 1000);
