// Console lockdown (PROTOCOL.md §9.1, SECURITY.md §7, issue 5 item 5): once personalised, the real
// EspruinoTools CLI can no longer evaluate code on the carrier — neither right after the
// personalisation nor after a power cycle that boots the RELEASE bundle from .bootcde.
// The bundle (≈40 KB) fills the stock 40 KB virtual Storage, so this board is the nrf52840 profile
// with an 80 KB Storage area (what a production build reserves; the model is otherwise unchanged).
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VirtualBoard } from "../board/src/virtual-board.ts";
import { BoardConsole } from "../board/src/console/attach.ts";
import { serveTcp, type TcpExposure } from "../board/src/expose/tcp.ts";
import { loadProfile } from "../board/src/profiles.ts";
import { KeyCarrier } from "../host/src/client.ts";
import { TcpTransport } from "../host/src/transport/tcp.ts";
import { Platform } from "../host/src/platform/service.ts";
import { PlatformChannel } from "../host/src/channel/session.ts";
import { decodeCbor, encodeCbor, type CborMap } from "../host/src/codec.ts";
import { CMD, releaseBundle, ST, transportIdentity, type Identity } from "../firmware/test/applets/carrier-harness.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CLI = join(ROOT, "node_modules", "espruino", "bin", "espruino-cli.js");
const INJECT_MARK = "KC-INJECTED";
// The expression joins the marker at run time: its source text (echoed or not) never contains it.
const INJECTION = `print("KC-"+"INJECTED", require("Storage").read("kc.st"))`;
const CLI_TIMEOUT_MS = 12_000;

interface CliRun { code: number | null; out: string; killed: boolean }

/** Runs the CLI with a bounded time; on timeout the child is killed (SIGKILL) and reported. */
function runCli(args: string[], cwd: string, ms: number): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let killed = false;
    child.stdout.on("data", (d: Buffer) => { out += d.toString("latin1"); });
    child.stderr.on("data", (d: Buffer) => { out += d.toString("latin1"); });
    const timer = setTimeout(() => { killed = true; child.kill("SIGKILL"); }, ms);
    child.on("exit", (code) => { clearTimeout(timer); resolve({ code, out, killed }); });
  });
}

describe("console lockdown after personalisation (real EspruinoTools CLI over TCP)", () => {
  let board: VirtualBoard;
  let bc: BoardConsole;
  let tcp: TcpExposure;
  let dir: string;
  let boardJson: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "kc-lockdown-"));
    boardJson = join(dir, "board.json");
    writeFileSync(boardJson, JSON.stringify({ info: { name: "KeyCarrier virtual nRF52840", binary_version: "2v29", builtin_modules: ["Storage"] } }));
    const profile = loadProfile("nrf52840");
    board = new VirtualBoard({ board: { ...profile, storage: { ...profile.storage, bytes: 81_920 } }, seed: 3, clock: "real" });
    board.storage.write(".bootcde", await releaseBundle());
    bc = new BoardConsole(board, { banner: true });
    tcp = await serveTcp(board.usb, { port: 0 });
  }, 60_000);
  afterAll(async () => { await tcp?.close(); board?.dispose(); });

  async function connect(): Promise<KeyCarrier> {
    return KeyCarrier.open(new TcpTransport("127.0.0.1", tcp.port), { initialSeq: 1, timeoutMs: 1_000, retries: 2 });
  }

  async function request(kc: KeyCarrier, command: number, body: CborMap = new Map()) {
    const r = await kc.link.request(command, encodeCbor(body));
    return { status: r.status, body: decodeCbor(r.body) as CborMap };
  }

  async function inner(kc: KeyCarrier, ch: PlatformChannel, command: number, body: CborMap) {
    const b = encodeCbor(body);
    const p = new Uint8Array(1 + b.length);
    p[0] = command;
    p.set(b, 1);
    const r = await request(kc, CMD.MESSAGE, new Map([[1, ch.seal(p)]]));
    expect(r.status).toBe(0);
    const plain = ch.open(r.body.get(1) as Uint8Array);
    return { status: plain[0]!, body: decodeCbor(plain.subarray(1)) as CborMap };
  }

  async function openChannel(kc: KeyCarrier, id: Identity): Promise<PlatformChannel> {
    const ch = new PlatformChannel(id);
    const o = await request(kc, CMD.OPEN, new Map([[1, ch.begin()]]));
    expect(o.status).toBe(0);
    const proof = ch.accept({ carrierId: o.body.get(1) as Uint8Array, carrierNonce: o.body.get(2) as Uint8Array, carrierProof: o.body.get(3) as Uint8Array });
    expect((await request(kc, CMD.CONFIRM, new Map([[1, proof]]))).status).toBe(0);
    return ch;
  }

  function cliEval(): Promise<CliRun> {
    return runCli(["-p", tcp.url, "--no-ble", "--board", boardJson, "-e", INJECTION], dir, CLI_TIMEOUT_MS);
  }

  it("personalise over TCP; afterwards and after a power cycle the CLI cannot evaluate code", async () => {
    bc.powerOn();
    board.runUntilIdle(5_000);
    const kc = await connect();
    expect(kc.handshakeInfo!.stateName).toBe("BLANK");
    const platform = await Platform.open({});
    try {
      const carrierId = platform.issueCarrier().carrierId;
      const keys = platform.carrierKeys(carrierId);
      // the factory step first: without kc.tk the carrier opens no transport session
      expect((await request(kc, CMD.PROVISION, new Map([[1, transportIdentity(kc.handshakeInfo!.serial).channelKey]]))).status).toBe(ST.OK);
      const ch = await openChannel(kc, transportIdentity(kc.handshakeInfo!.serial));
      const r = await inner(kc, ch, CMD.PERSONALISE, new Map<number, Uint8Array | number | string>([
        [1, Buffer.from(carrierId, "hex")], [2, new TextEncoder().encode("KC-PLATFORM-TEST")], [3, keys.channelKey], [4, keys.cryptogramKey], [5, 100_000],
      ]));
      expect(r.status).toBe(ST.OK);
    } finally {
      platform.close();
    }
    await kc.close();
    expect(board.storage.read("kc.st")).toBeTruthy(); // the page store's pages, holding the keys

    const live = await cliEval();
    console.log(`lockdown: CLI against the live personalised carrier: ${live.killed ? `killed after ${CLI_TIMEOUT_MS} ms` : `exit ${live.code}`}`);
    expect(live.out).not.toContain(INJECT_MARK);
    expect(live.out).toContain("Connected"); // the CLI did reach the carrier: refused by the firmware, not by the network
    console.log(`lockdown: CLI output tail: ${JSON.stringify(live.out.slice(-160))}`);

    // Power cycle: the release bundle boots from .bootcde, finds itself PERSONALISED and locks.
    bc.powerCut();
    bc.powerOn();
    board.runUntilIdle(5_000);
    const rebooted = await cliEval();
    console.log(`lockdown: CLI after a power cycle: ${rebooted.killed ? `killed after ${CLI_TIMEOUT_MS} ms` : `exit ${rebooted.code}`}`);
    expect(rebooted.out).not.toContain(INJECT_MARK);

    // The carrier itself still answers on the same wire, personalised.
    const kc2 = await connect();
    expect(kc2.handshakeInfo!.stateName).toBe("PERSONALISED");
    await kc2.close();
  }, 90_000);

  it("control: the same CLI call does evaluate on a board without the carrier firmware", async () => {
    const plain = new VirtualBoard({ board: "nrf52840", seed: 4, clock: "real" });
    const plainConsole = new BoardConsole(plain, { banner: true });
    const plainTcp = await serveTcp(plain.usb, { port: 0 });
    try {
      plainConsole.powerOn();
      plain.storage.write("kc.st", "not a secret");
      const run = await runCli(["-p", plainTcp.url, "--no-ble", "--board", boardJson, "-e", INJECTION], dir, CLI_TIMEOUT_MS);
      expect(run.out).toContain(`${INJECT_MARK} not a secret`);
    } finally {
      await plainTcp.close();
      plain.dispose();
    }
  }, 60_000);
});
