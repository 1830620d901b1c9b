import { Platform } from "./src/platform/service.ts";
import { mkdtempSync, statSync, rmSync } from "node:fs";
import { join } from "node:path";
import { computeAuthorizationCryptogram } from "./src/channel/keys.ts";
import { merchantIdBytes } from "./src/platform/service.ts";
const d = mkdtempSync("/tmp/kc-w-");
const f = join(d, "l.sqlite");
const p = await Platform.open({ dbFile: f });
const reqs = p.ledger.transaction(() => {
  const m = p.registerMerchant({ name: "B" }); const c = p.issueCarrier(); const k = p.carrierKeys(c.carrierId); const out = [];
  for (let i = 0; i < 2000; i++) {
    const code = p.issuePaymentCode({ merchantId: m.merchantId, amount: 100 + i, currency: "EUR" }); const o = p.createOrder({ code: code.code });
    const cg = computeAuthorizationCryptogram(k.cryptogramKey, { carrierId: Buffer.from(c.carrierId, "hex"), orderId: Buffer.from(o.orderId, "hex"), merchantId: merchantIdBytes(1), amount: o.amount, currency: "EUR", atc: i + 1 });
    out.push({ orderId: o.orderId, carrierId: c.carrierId, atc: i + 1, cryptogram: Buffer.from(cg).toString("hex") });
  } return out; });
console.log("page_size", p.ledger.get("PRAGMA page_size"));
p.ledger.enableGroupCommit();
const frames0 = statSync(f + "-wal").size;
const t = performance.now();
for (let i = 0; i < reqs.length; i += 32) { for (let j = i; j < i + 32; j++) p.authorize(reqs[j]!, "k" + j); await p.ledger.durable(); }
const ms = performance.now() - t;
console.log("per s", (reqs.length / ms * 1000).toFixed(0), "WAL KB/settlement", ((statSync(f + "-wal").size - frames0) / reqs.length / 1024).toFixed(1), p.ledger.stats);
p.close(); rmSync(d, { recursive: true });
