// Rewrites offline-host-vectors.json from the host library (see vectors.ts).
import { writeFileSync } from "node:fs";
import { makeVectors } from "./vectors.ts";

writeFileSync(new URL("./offline-host-vectors.json", import.meta.url), JSON.stringify(makeVectors(), null, 1) + "\n");
