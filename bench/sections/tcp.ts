// Host-side throughput: round trips per second from the host library over TCP to a virtual board
// running the release bundle in this process (the `keycarrier emulate` wiring: board USB served
// on a loopback port by board/src/expose/tcp.ts). This measures the host, the TCP loopback and
// the virtual board's speed on this machine, not the board's.
import { VirtualBoard } from "../../board/src/virtual-board.ts";
import { serveTcp } from "../../board/src/expose/tcp.ts";
import { KeyCarrier } from "../../host/src/client.ts";
import { boardProfiles, releaseBundle } from "../context.ts";
import type { Row, Section } from "./types.ts";

export const TCP_SECONDS_PER_COMMAND = 1;

async function timed(seconds: number, op: () => Promise<unknown>): Promise<{ n: number; perSecond: number; meanMs: number }> {
  const until = performance.now() + seconds * 1000;
  const start = performance.now();
  let n = 0;
  while (performance.now() < until) {
    await op();
    n++;
  }
  const elapsed = performance.now() - start;
  return { n, perSecond: Math.round((n / elapsed) * 1000), meanMs: Math.round((elapsed / n) * 100) / 100 };
}

export async function tcpRows(boardId: string, seconds = TCP_SECONDS_PER_COMMAND, bundle = releaseBundle()): Promise<Row[]> {
  const board = new VirtualBoard({ board: boardId, seed: 11, clock: "real" });
  board.storage.write(".bootcde", bundle);
  board.powerOn();
  const tcp = await serveTcp(board.usb);
  const kc = await KeyCarrier.open(tcp.url, { timeoutMs: 1000, retries: 1 });
  try {
    const ping16 = new Uint8Array(16).fill(0x5a);
    const info = await timed(seconds / 2, () => kc.info());
    const ping = await timed(seconds / 2, () => kc.ping(ping16));
    return [
      { board: boardId, command: "INFO", transport: "tcp loopback", roundTrips: info.n, perSecond: info.perSecond, meanMs: info.meanMs },
      { board: boardId, command: "PING 16", transport: "tcp loopback", roundTrips: ping.n, perSecond: ping.perSecond, meanMs: ping.meanMs },
    ];
  } finally {
    await kc.close();
    await tcp.close();
    board.dispose();
  }
}

export const tcpSection: Section = {
  name: "host-tcp",
  note: `host library -> TCP loopback -> virtual board, ~${TCP_SECONDS_PER_COMMAND} s per board (host machine speed, not device time); boards without USB are skipped`,
  run: async () => {
    const rows: Row[] = [];
    for (const p of boardProfiles()) {
      if (!p.peripherals.usb) continue;
      rows.push(...(await tcpRows(p.id)));
    }
    return rows;
  },
};
