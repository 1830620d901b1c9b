import { measurePlatformThroughput } from "./src/platform/bench.ts";
const r = await measurePlatformThroughput({ sizes: [1000], sizeOrders: 1500 });
const { sizes, ...rest } = r; console.log(JSON.stringify({ ...rest, sizes }, (k, v) => (k === "note" ? undefined : v)));
