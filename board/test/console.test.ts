// Console transcripts, byte for byte. Expected bytes follow facts §6 (measured on Espruino 2v29)
// and, where the facts are silent, src/jsinteractive.c (jsiHandleChar, jsiHandleNewLine,
// jsiConsoleRemoveInputLine, jsiConsoleReturnInputLine, the password branch).
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { heatshrinkDecompress } from "../src/console/heatshrink.ts";
import { ManualClock, MemoryStorage, SandboxBoard } from "../src/console/sandbox-host.ts";
import { PacketReader, PacketType, encodePacket } from "../src/console.ts";

function freshBoard(): { b: SandboxBoard; clock: ManualClock; storage: MemoryStorage } {
  const clock = new ManualClock();
  const storage = new MemoryStorage();
  const b = new SandboxBoard({ clock, storage });
  b.console.softInit({ banner: false });
  b.console.idle();
  expect(b.take()).toBe("\r\n>");
  return { b, clock, storage };
}

/** Type like a person: one byte per receive() (one idle-loop turn each). */
function type(b: SandboxBoard, text: string): string {
  for (const ch of text) b.console.receive(ch);
  return b.take();
}

describe("REPL echo, result and prompt", () => {
  it("echoes typed input, prints =result and a new prompt", () => {
    const { b } = freshBoard();
    expect(type(b, "1+2\r")).toBe("1+2\r\n=3\r\n>");
  });

  it("gives the same bytes when the line arrives in one chunk", () => {
    const { b } = freshBoard();
    b.console.receive("1+2\r");
    expect(b.take()).toBe("1+2\r\n=3\r\n>");
  });

  it("does not echo a line queued behind Enter until the prompt returns", () => {
    const { b } = freshBoard();
    b.console.receive("1\r2\r");
    expect(b.take()).toBe("1\r\n=1\r\n=2\r\n>");
  });

  it("prints nothing but a new prompt for an empty line", () => {
    const { b } = freshBoard();
    expect(type(b, "\r")).toBe("\r\n>");
  });

  it("formats results like Espruino's REPL", () => {
    const { b } = freshBoard();
    expect(type(b, "undefined\r")).toBe("undefined\r\n=undefined\r\n>");
    expect(type(b, "'str'\r")).toBe("'str'\r\n=\"str\"\r\n>");
    expect(type(b, "[1,2]\r")).toBe("[1,2]\r\n=[ 1, 2 ]\r\n>");
    expect(type(b, "o={a:1}\r")).toBe("o={a:1}\r\n={ a: 1 }\r\n>");
    expect(type(b, "0.1+0.2\r")).toBe("0.1+0.2\r\n=0.3\r\n>");
  });

  it("continues unbalanced brackets with the ':' prompt", () => {
    const { b } = freshBoard();
    expect(type(b, "function f(){\r")).toBe("function f(){\r\n:");
    expect(type(b, "return 7}\r")).toBe("return 7}\r\n=undefined\r\n>");
    expect(type(b, "f()\r")).toBe("f()\r\n=7\r\n>");
  });

  it("executes an unfinished string at once so it errors", () => {
    const { b } = freshBoard();
    const out = type(b, "'abc\r");
    expect(out.startsWith("'abc\r\nUncaught SyntaxError")).toBe(true);
    expect(out.endsWith("\r\n>")).toBe(true);
  });

  it("prints uncaught errors with line, column and caret, and no =result", () => {
    const { b } = freshBoard();
    // the column is where the sandbox's engine (V8) places the failing statement
    expect(type(b, "var x=1; foo()\r")).toBe("var x=1; foo()\r\nUncaught ReferenceError: foo is not defined\r\n at line 1 col 10\r\nvar x=1; foo()\r\n         ^\r\n>");
  });

  it("cuts long error lines to 60 chars around the column, as jsiConsolePrintTokenLineMarker does", () => {
    const { b } = freshBoard();
    const line = "var a = 1;".repeat(5) + "nope();" + " var b = 2;".repeat(4);
    b.console.receive("\x10" + line + "\n");
    const out = b.take().split("\r\n");
    expect(out[0]).toBe("Uncaught ReferenceError: nope is not defined");
    expect(out[1]).toBe(" at line 1 col 51");
    expect(out[2]).toBe("..." + line.slice(23, 83) + "...");
    expect(out[3]!.indexOf("^")).toBe(3 + 50 - 23);
    expect(out[2]!.slice(out[3]!.indexOf("^"), out[3]!.indexOf("^") + 4)).toBe("nope");
  });

  it("rubs out a character on backspace", () => {
    const { b } = freshBoard();
    expect(type(b, "12\x7f\r")).toBe("12\x08 \x08\r\n=1\r\n>");
  });

  it("turns \\n in console output into \\r\\n", () => {
    const { b } = freshBoard();
    expect(type(b, "print('a\\nb')\r")).toBe("print('a\\nb')\r\na\r\nb\r\n=undefined\r\n>");
  });
});

describe("async output", () => {
  it("is preceded by \\r ESC[J and followed by the prompt", () => {
    const { b } = freshBoard();
    b.console.print("tick\n");
    b.console.idle();
    expect(b.take()).toBe("\r\x1b[Jtick\r\n>");
  });

  it("moves the cursor back over a half-typed line and reprints it", () => {
    const { b } = freshBoard();
    type(b, "ab");
    b.console.print("tick\n");
    b.console.print("tock\n");
    b.console.idle();
    expect(b.take()).toBe("\x1b[D\x1b[D\r\x1b[Jtick\r\ntock\r\n>ab");
    expect(type(b, "c\r")).toBe("c\r\nUncaught ReferenceError: abc is not defined\r\n at line 1 col 1\r\nabc\r\n^\r\n>");
  });

  it("reprints a multi-line input with ':' continuation prefixes", () => {
    const { b } = freshBoard();
    type(b, "[1,\r2");
    b.console.print("x\n");
    b.console.idle();
    expect(b.take()).toBe("\x1b[D\x1b[A\r\x1b[Jx\r\n>[1,\r\n:2");
  });
});

describe("DLE, echo(), ENQ, Ctrl-C, escape sequences", () => {
  it("DLE at line start: no echo and no =result", () => {
    const { b } = freshBoard();
    b.console.receive("\x10x=5\n");
    expect(b.take()).toBe("");
    expect(type(b, "x\r")).toBe("x\r\n=5\r\n>");
  });

  it("DLE line that prints takes the prompt away and gives it back", () => {
    const { b } = freshBoard();
    b.console.receive("\x10print('hi')\n");
    expect(b.take()).toBe("hi\r\n>");
  });

  it("DLE later in a line is ignored", () => {
    const { b } = freshBoard();
    expect(type(b, "1\x10+1\r")).toBe("1+1\r\n=2\r\n>");
  });

  it("echo(0) silences echo, results and prompt until echo(1)", () => {
    const { b } = freshBoard();
    expect(type(b, "echo(0)\r")).toBe("echo(0)\r\n");
    expect(type(b, "1+1\r")).toBe("");
    expect(type(b, "echo(1)\r")).toBe("=undefined\r\n>");
  });

  it("ENQ on an empty line prints version and board id", () => {
    const { b } = freshBoard();
    b.console.receive("\x05");
    expect(b.take()).toBe("Espruino 2v29 NRF52840DK\r\n");
  });

  it("ENQ on a non-empty line is Ctrl-E (end of line): nothing printed", () => {
    const { b } = freshBoard();
    expect(type(b, "ab\x05")).toBe("ab");
  });

  it("Ctrl-C clears a half-typed line and interrupts", () => {
    const { b } = freshBoard();
    type(b, "abc");
    b.console.receive("\x03");
    expect(b.take()).toBe("\x1b[D\x1b[D\x1b[D\r\x1b[J>");
    expect(b.interrupts).toBe(1);
    expect(type(b, "1\r")).toBe("1\r\n=1\r\n>");
  });

  it("Ctrl-C on an empty line prints nothing", () => {
    const { b } = freshBoard();
    b.console.receive("\x03");
    expect(b.take()).toBe("");
  });

  it("ESC LF inserts a newline without executing", () => {
    const { b } = freshBoard();
    expect(type(b, "if (1)\x1b\n2\r")).toBe("if (1)\r\n:2\r\n=2\r\n>");
  });

  it("ESC [ n d sets the line number offset for the next line only", () => {
    const { b } = freshBoard();
    b.console.receive("\x10\x1b[12dx=1\n");
    b.console.receive("\x10y=2\n");
    expect(b.evaluations).toEqual([
      { code: "x=1", lineNumberOffset: 12 },
      { code: "y=2", lineNumberOffset: 0 },
    ]);
    expect(b.take()).toBe("");
  });

  it("arrow keys never leak into the line", () => {
    const { b } = freshBoard();
    expect(type(b, "1\x1b[A\x1b[D\x1b[3~+2\r")).toBe("1+2\r\n=3\r\n>");
  });
});

describe("password lockdown", () => {
  it("routes every byte to password>, blocks Ctrl-C and packets, then logs in", () => {
    const { b } = freshBoard();
    expect(type(b, "E.setPassword('pw');E.lockConsole()\r"))
      .toBe("E.setPassword('pw');E.lockConsole()\r\n=undefined\r\npassword>");
    expect(type(b, "bad\r")).toBe("\r\n  Invalid password\r\npassword>");
    b.console.receive("\x03");
    b.console.receive(encodePacket(PacketType.EVAL, "1"));
    expect(b.take()).toBe("");
    expect(b.interrupts).toBe(0);
    expect(b.evaluations.length).toBe(1);
    expect(type(b, "\r")).toBe("\r\n  Invalid password\r\npassword>"); // the line held the packet bytes
    expect(type(b, "pw\r")).toBe("\r\n  Logged in.\r\n>");
    expect(b.console.isLocked()).toBe(false);
    expect(type(b, "2\r")).toBe("2\r\n=2\r\n>");
  });

  it("lockConsole without a password does not lock", () => {
    const { b } = freshBoard();
    expect(type(b, "E.lockConsole()\r")).toBe("E.lockConsole()\r\n=undefined\r\n>");
  });
});

describe("E.setConsole(null)", () => {
  it("leaves no REPL, no packets and no output", () => {
    const { b } = freshBoard();
    type(b, "E.setConsole(null)\r");
    b.take();
    b.console.receive("1\r");
    b.console.receive(encodePacket(PacketType.EVAL, "1"));
    b.console.print("x\n");
    expect(b.take()).toBe("");
    expect(b.evaluations.length).toBe(1);
  });
});

function reply(b: SandboxBoard): PacketReader {
  const r = new PacketReader();
  r.push(b.take());
  return r;
}

describe("packets (facts §6 table)", () => {
  it("EVAL answers ACK then a RESPONSE packet carrying E.toJS(result)", () => {
    const { b } = freshBoard();
    b.console.receive(encodePacket(PacketType.EVAL, "{a:[1,2],s:\"x\"}"));
    const out = b.take();
    expect(out).toBe("\x06\x10\x01\x00\x0f{a:[1,2],s:\"x\"}");
  });

  it("EVAL of a statement is a SyntaxError: NAK plus the error on the console", () => {
    const { b } = freshBoard();
    b.console.receive(encodePacket(PacketType.EVAL, "var x=1"));
    const out = b.take();
    expect(out.startsWith("\x15\r\x1b[JUncaught SyntaxError")).toBe(true);
    expect(out.endsWith("\r\n>")).toBe(true);
  });

  it("a packet may arrive in pieces", () => {
    const { b } = freshBoard();
    for (const ch of encodePacket(PacketType.EVAL, "6*7")) b.console.receive(ch);
    const r = reply(b);
    expect(r.acks).toEqual(["\x06"]);
    expect(r.packets).toEqual([{ type: PacketType.RESPONSE, payload: "42" }]);
    expect(r.text).toBe("");
  });

  it("EVENT: NAK without an E.on('packet') listener, ACK and delivery with one", () => {
    const { b } = freshBoard();
    b.console.receive(encodePacket(PacketType.EVENT, "{t:1}"));
    expect(b.take()).toBe("\x15");
    b.run("var got=[]; E.on('packet', function(o){ got.push(o.t); })");
    b.console.receive(encodePacket(PacketType.EVENT, "{t:2,'u':\"v\",}"));
    expect(b.take()).toBe("\x06");
    expect(b.run("got.join()")).toBe("2");
  });

  it("EVENT that is not an object is NAK'd", () => {
    const { b } = freshBoard();
    b.run("E.on('packet', function(){})");
    b.console.receive(encodePacket(PacketType.EVENT, "[1"));
    expect(b.take()).toBe("\x15");
  });

  it("FILE_SEND + DATA write Storage block by block and report packetUpload", () => {
    const { b, storage } = freshBoard();
    b.console.receive(encodePacket(PacketType.FILE_SEND, "{fn:\"a.txt\",s:5}"));
    b.console.receive(encodePacket(PacketType.DATA, "hel"));
    b.console.receive(encodePacket(PacketType.DATA, "lo"));
    expect(b.take()).toBe("\x06\x06\x06");
    expect(storage.read("a.txt")).toBe("hello");
    expect(b.uploads).toEqual([{ l: 3, o: 0, s: 5, fn: "a.txt" }, { l: 2, o: 3, s: 5, fn: "a.txt" }]);
    // the transfer closed when the size was reached
    b.console.receive(encodePacket(PacketType.DATA, "x"));
    expect(b.take()).toBe("\x15");
  });

  it("carries all 256 byte values unchanged through DATA", () => {
    const { b, storage } = freshBoard();
    let all = "";
    for (let i = 0; i < 256; i++) all += String.fromCharCode(i);
    b.console.receive(encodePacket(PacketType.FILE_SEND, "{fn:\"bin\",s:256}"));
    b.console.receive(encodePacket(PacketType.DATA, all));
    expect(b.take()).toBe("\x06\x06");
    expect(storage.read("bin")).toBe(all);
    expect(b.interrupts).toBe(1); // the 0x03 byte still reached the Ctrl-C IRQ
  });

  it("FILE_SEND without fn or with s:0 is NAK'd, as is DATA with no open file", () => {
    const { b } = freshBoard();
    b.console.receive(encodePacket(PacketType.FILE_SEND, "{s:5}"));
    b.console.receive(encodePacket(PacketType.FILE_SEND, "{fn:\"a\",s:0}"));
    b.console.receive(encodePacket(PacketType.DATA, "abc"));
    expect(b.take()).toBe("\x15\x15\x15");
  });

  it("a Storage write error is still ACK'd and printed", () => {
    const { b } = freshBoard();
    b.console.receive(encodePacket(PacketType.FILE_SEND, "{fn:\"a\",s:2}"));
    b.take();
    b.console.receive(encodePacket(PacketType.DATA, "abc"));
    const out = b.take();
    expect(out.startsWith("\r\x1b[JUncaught Error: Too much data for file size\r\n")).toBe(true);
    expect(out.endsWith("\x06>")).toBe(true);
  });

  it("the upload closes 10 s after the last DATA", () => {
    const { b, clock } = freshBoard();
    b.console.receive(encodePacket(PacketType.FILE_SEND, "{fn:\"a\",s:4}"));
    b.console.receive(encodePacket(PacketType.DATA, "ab"));
    clock.advance(9999);
    b.console.receive(encodePacket(PacketType.DATA, "c"));
    clock.advance(10000);
    b.console.receive(encodePacket(PacketType.DATA, "d"));
    expect(b.take()).toBe("\x06\x06\x06\x15");
  });

  it("FILE_RECV answers ACK, DATA blocks of ≤1024 B and an empty DATA", () => {
    const { b, storage } = freshBoard();
    const content = "x".repeat(2500);
    storage.write("big", content);
    b.console.receive(encodePacket(PacketType.FILE_RECV, "{fn:\"big\"}"));
    const r = reply(b);
    expect(r.acks).toEqual(["\x06"]);
    expect(r.packets.map((p) => [p.type, p.payload.length])).toEqual([
      [PacketType.DATA, 1024], [PacketType.DATA, 1024], [PacketType.DATA, 452], [PacketType.DATA, 0],
    ]);
    expect(r.packets.map((p) => p.payload).join("")).toBe(content);
    b.console.receive(encodePacket(PacketType.FILE_RECV, "{fn:\"missing\"}"));
    expect(b.take()).toBe("\x15");
  });

  it("unknown and RESPONSE types are NAK'd", () => {
    const { b } = freshBoard();
    b.console.receive("\x10\x01\xc0\x01a");
    b.console.receive(encodePacket(PacketType.RESPONSE, "1"));
    expect(b.take()).toBe("\x15\x15");
  });

  it("an unfinished packet is NAK'd after 5 s on the board clock, then the REPL works", () => {
    const { b, clock } = freshBoard();
    b.console.receive("\x10\x01\x20\x05ab");
    clock.advance(4999);
    expect(b.take()).toBe("");
    clock.advance(1);
    expect(b.take()).toBe("\x15");
    expect(type(b, "1\r")).toBe("1\r\n=1\r\n>");
  });
});

describe("FILE_SEND with c:1 (heatshrink blocks)", () => {
  // Reference compressor: EspruinoTools' own heatshrink build (libs/heatshrink.js, Espruino's config).
  const require = createRequire(import.meta.url);
  const hs = require("espruino/libs/heatshrink.js") as { compress(u: Uint8Array): Uint8Array };
  const toStr = (u: Uint8Array): string => Array.from(u, (b) => String.fromCharCode(b)).join("");

  it("decompresses what EspruinoTools compresses, byte for byte", () => {
    let seed = 12345; // xorshift32: full-range bytes, deterministic
    const rnd = (): number => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return seed >>> 0; };
    const samples = [
      "", "a", "abcabcabcabcabcabcabcabc", "x".repeat(3000), "\0".repeat(50) + "~" + "\0".repeat(80),
      Array.from({ length: 2000 }, () => String.fromCharCode(rnd() & 0xff)).join(""),
      Array.from({ length: 4000 }, (_, i) => "function f" + (i % 37) + "(){return " + (rnd() % 9) + "}\n").join("").slice(0, 4000),
    ];
    for (const s of samples) {
      const packed = hs.compress(Uint8Array.from(s, (c) => c.charCodeAt(0)));
      expect(toStr(heatshrinkDecompress(packed))).toBe(s);
    }
  });

  it("writes the decompressed blocks to Storage", () => {
    const { b, storage } = freshBoard();
    const text = "print('hello from a compressed upload');\n".repeat(40);
    const half = text.length / 2;
    b.console.receive(encodePacket(PacketType.FILE_SEND, `{fn:"z.js",s:${text.length},c:1}`));
    for (const part of [text.slice(0, half), text.slice(half)]) {
      const packed = toStr(hs.compress(Uint8Array.from(part, (c) => c.charCodeAt(0))));
      expect(packed.length).toBeLessThan(part.length);
      b.console.receive(encodePacket(PacketType.DATA, packed));
    }
    expect(b.take()).toBe("\x06\x06\x06");
    expect(storage.read("z.js")).toBe(text);
    expect(b.uploads.map((u) => [u.o, u.l])).toEqual([[0, half], [half, half]]);
  });
});

describe("robustness", () => {
  it("any byte sequence leaves a console that recovers with Ctrl-C (seeded property test)", async () => {
    const fc = await import("fast-check");
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 1, max: 50 }), (bytes, chunk) => {
        const clock = new ManualClock();
        const b = new SandboxBoard({ clock });
        b.console.softInit({ banner: false });
        b.console.idle();
        for (let i = 0; i < bytes.length; i += chunk) b.console.receive(bytes.subarray(i, i + chunk));
        clock.advance(6000); // any unfinished packet is NAK'd by now
        b.console.receive("\x03");
        b.take();
        b.console.receive("\x10print(6*7)\n");
        return b.take().includes("42\r\n");
      }),
      { seed: 20261122, numRuns: 300 },
    );
  });
});
