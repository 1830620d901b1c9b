// End to end: the release bundle boots from .bootcde on the virtual board, and the host library
// (host/src/client.ts over host/src/link.ts) talks wire protocol v1 to it over the board's USB.
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { compile } from "../firmware/build/pipeline.ts";
import { VirtualBoard } from "../board/src/virtual-board.ts";
import { KeyCarrier } from "../host/src/client.ts";
import type { Transport } from "../host/src/transport/types.ts";

let bundle = "";
beforeAll(async () => { bundle = (await compile({ entry: "firmware/src/main.ts", minify: true })).code; }, 60_000);

// A Transport over the virtual board's USB: writes are delivered as the board's 'data' events and
// the board's event loop runs until idle, so responses arrive before the host's timers matter.
function boardTransport(board: VirtualBoard, chunks?: number[]): Transport & { dropNextResponse(): void } {
  const dataListeners: ((c: Uint8Array) => void)[] = [];
  let open = false;
  let drop = 0;
  board.usb.onData((bytes) => {
    if (drop > 0) { drop--; return; }
    for (const l of dataListeners) l(bytes);
  });
  return {
    description: `virtual ${board.profile.id} USB`,
    get isOpen() { return open; },
    async open() { open = true; },
    async close() { open = false; },
    async write(bytes) {
      board.usb.write(bytes, chunks ? { chunks } : {});
      board.runUntilIdle(2_000);
    },
    onData(l) { dataListeners.push(l); },
    onClose() {},
    onError() {},
    dropNextResponse() { drop++; },
  };
}

let boards: VirtualBoard[] = [];
afterEach(() => { for (const b of boards) b.dispose(); boards = []; });

function bootBoard(id: string): VirtualBoard {
  const board = new VirtualBoard({ board: id, seed: 5 });
  boards.push(board);
  board.storage.write(".bootcde", bundle);
  board.powerOn();
  board.runUntilIdle(2_000);
  return board;
}

describe("protocol v1 end to end on the virtual board", () => {
  for (const id of ["nrf52840", "pico"]) {
    it(`${id}: boots, hands USB to the link, answers INFO and PING from the host library`, async () => {
      const board = bootBoard(id);
      expect(board.takeOutput()).toContain("KeyCarrier 0.1.0");
      const kc = await KeyCarrier.open(boardTransport(board), { initialSeq: 250, timeoutMs: 200, retries: 1 });
      const info = kc.handshakeInfo!;
      expect(info.protocolVersion).toEqual({ major: 1, minor: 0 });
      expect(info.board).toBe(board.profile.espruinoBoard);
      expect(info.stateName).toBe("BLANK");
      expect(info.capabilities.usb).toBe(true);
      expect(info.maxBody).toBe(512);
      expect(info.freeStorageBytes).toBeGreaterThan(0);
      const data = Uint8Array.from({ length: 500 }, (_, i) => (i * 31) & 255);
      expect(await kc.ping(data)).toEqual(data);
      expect(await kc.ping(new Uint8Array(0))).toEqual(new Uint8Array(0));
      for (let i = 0; i < 8; i++) await kc.ping(Uint8Array.of(i)); // seq wraps past 255
      await kc.close();
    });
  }

  it("survives byte-wise chunking and a lost response (retransmission is answered from the cache)", async () => {
    const board = bootBoard("nrf52840");
    board.takeOutput();
    const t = boardTransport(board, Array(600).fill(1));
    const kc = await KeyCarrier.open(t, { initialSeq: 0, timeoutMs: 100, retries: 2 });
    t.dropNextResponse();
    const res = await kc.link.request(0x02, Uint8Array.from([0xa1, 0x01, 0x41, 0x7a]));
    expect(res.attempts).toBe(2);
    expect(Array.from(res.body)).toEqual([0xa1, 0x01, 0x41, 0x7a]);
    await kc.close();
  });
});
