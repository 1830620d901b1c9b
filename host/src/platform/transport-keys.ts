/**
 * Per-device transport keys (PROTOCOL.md §7.4): the factory step `keycarrier provision` writes each
 * carrier's `kc.tk` = diversifyCarrierKeys(batch key, transport id).channelKey, the batch key living
 * only in this keystore (sealed under the platform key). Personalisation later opens the transport
 * session with the same derived key. The public development batch key TBK_DEV is refused unless the
 * platform was started with the explicit dev flag (`allowDevTransportKey`; `npm start` sets it).
 */
import { randomBytes } from "node:crypto";
import { get, run, tx, type Work } from "./work.ts";
import type { SecretSealer } from "./keystore.ts";
import { diversifyCarrierKeys } from "../channel/keys.ts";
import { TBK_DEV } from "../flows/protocol.ts";
import { Refusal } from "./refusal.ts";

export const DEV_BATCH_ID = "dev";
export const DEFAULT_BATCH_ID = "batch-1";

export class TransportKeyRefusal extends Refusal {}

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

export class TransportKeys {
  constructor(private readonly sealer: SecretSealer, private readonly now: () => number, readonly allowDev: boolean) {}

  /** The batch new carriers are provisioned from: the dev batch with the dev flag, else a secret one (made on first use). */
  private currentBatch(): string {
    return this.allowDev ? DEV_BATCH_ID : DEFAULT_BATCH_ID;
  }

  private *batchKey(batchId: string): Work<Uint8Array> {
    if (batchId === DEV_BATCH_ID) {
      if (!this.allowDev) throw new TransportKeyRefusal(403, "dev-transport-key", "this carrier was provisioned with the public development transport key, which this platform refuses — start it with the dev flag (--dev-transport-key) only for development");
      return TBK_DEV;
    }
    const row = yield* get("SELECT batch_key, key_protection FROM transport_batches WHERE batch_id = ?", [batchId]);
    if (row) return this.sealer.open(row.batch_key as Uint8Array, String(row.key_protection), `transport batch ${batchId}`);
    const key = Uint8Array.from(randomBytes(32));
    // Two processes making the first batch key at once: the primary key keeps one, the other's
    // operation runs again and reads it (engine.ts).
    yield* tx(() => run("INSERT INTO transport_batches (batch_id, batch_key, key_protection, created_at) VALUES (?, ?, ?, ?)", [
      batchId, this.sealer.seal(key, `transport batch ${batchId}`), this.sealer.protection, this.now(),
    ]));
    return key;
  }

  /**
   * Factory step: the kc.tk bytes for the carrier with this transport id, recorded as provisioned
   * from the current batch. In-process only (the HTTP API never returns keys).
   */
  *provision(transportId: Uint8Array): Work<Uint8Array> {
    const batchId = this.currentBatch();
    const key = diversifyCarrierKeys(yield* this.batchKey(batchId), transportId).channelKey;
    if (batchId === DEV_BATCH_ID) {
      yield* tx(() => run("INSERT INTO transport_batches (batch_id, batch_key, key_protection, created_at) VALUES (?, ?, 'dev-plaintext', ?) ON CONFLICT (batch_id) DO NOTHING", [batchId, TBK_DEV, this.now()]));
    }
    yield* tx(() => run("INSERT INTO provisioned_carriers (transport_id, batch_id, created_at) VALUES (?, ?, ?) ON CONFLICT (transport_id) DO UPDATE SET batch_id = excluded.batch_id", [
      hex(transportId), batchId, this.now(),
    ]));
    return key;
  }

  /** The transport channel key of a provisioned carrier; refused for a carrier this platform never provisioned. */
  *channelKey(transportId: Uint8Array): Work<Uint8Array> {
    const row = yield* get("SELECT batch_id FROM provisioned_carriers WHERE transport_id = ?", [hex(transportId)]);
    if (!row) {
      if (this.allowDev) return diversifyCarrierKeys(TBK_DEV, transportId).channelKey;
      throw new TransportKeyRefusal(404, "not-provisioned", `carrier ${Buffer.from(transportId).toString("latin1")} was not provisioned by this platform — run \`keycarrier provision\` (factory step) first`);
    }
    return diversifyCarrierKeys(yield* this.batchKey(String(row.batch_id)), transportId).channelKey;
  }
}
