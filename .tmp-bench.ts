import { measurePostgresThroughput } from "./host/src/platform/bench-postgres.ts";
const t0 = Date.now();
const r = await measurePostgresThroughput({ orders: 1500, budgetMs: 2000, sizes: [1000], sizeOrders: 500 });
console.log(JSON.stringify(r, null, 1));
console.log("took", (Date.now() - t0) / 1000);
