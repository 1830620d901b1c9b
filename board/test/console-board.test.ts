// The console wired into the real VirtualBoard runtime (board/src/virtual-board.ts) on USB.
import { describe, expect, it } from "vitest";
import { VirtualBoard } from "../src/virtual-board.ts";
import { BoardConsole } from "../src/console/attach.ts";
import { PacketReader, PacketType, encodePacket } from "../src/console.ts";

function booted(): { board: VirtualBoard; bc: BoardConsole } {
  const board = new VirtualBoard({ board: "nrf52840", seed: 7 });
  const bc = new BoardConsole(board, { banner: false });
  bc.powerOn();
  board.usb.take();
  return { board, bc };
}

describe("console on the VirtualBoard's USB", () => {
  it("answers the REPL byte for byte", () => {
    const { board } = booted();
    board.usb.write("1+2\r");
    expect(board.usb.take()).toBe("1+2\r\n=3\r\n>");
    board.usb.write("print('hi')\r");
    expect(board.usb.take()).toBe("print('hi')\r\nhi\r\n=undefined\r\n>");
  });

  it("prints ENQ with the profile's board id", () => {
    const { board } = booted();
    board.usb.write("\x05");
    expect(board.usb.take()).toBe(`Espruino 2v29 ${board.profile.espruinoBoard}\r\n`);
  });

  it("takes the prompt away for timer output and gives it back", () => {
    const { board } = booted();
    board.usb.write("setTimeout(function(){print('tick')},100)\r");
    expect(board.usb.take()).toMatch(/^setTimeout\(function\(\)\{print\('tick'\)\},100\)\r\n=\d+\r\n>$/);
    board.usb.write("ab");
    board.usb.take();
    board.advance(100);
    expect(board.usb.take()).toBe("\x1b[D\x1b[D\r\x1b[Jtick\r\n>ab");
  });

  it("reset() typed at the REPL: boot output (erasing the line first, as 2v29 does), then the prompt", () => {
    const { board } = booted();
    board.usb.write("\x10require('Storage').write('.bootrst','print(\"rst ran\")')\n");
    board.usb.write("\x10reset()\n");
    // measured on 2v29 (Linux build): "\r\x1b[Jrst ran\r\n" + banner (this console has banner off) + "\r\n>"
    expect(board.usb.take()).toBe("\r\x1b[Jrst ran\r\n\r\n>");
    board.usb.write("typeof x\r");
    expect(board.usb.take()).toBe("typeof x\r\n=\"undefined\"\r\n>");
  });

  it("uses the board's E.setPassword/E.lockConsole state", () => {
    const { board } = booted();
    board.usb.write("E.setPassword('pw');E.lockConsole()\r");
    expect(board.usb.take()).toBe("E.setPassword('pw');E.lockConsole()\r\n=undefined\r\npassword>");
    board.usb.write("1\r");
    expect(board.usb.take()).toBe("\r\n  Invalid password\r\npassword>");
    board.usb.write("pw\r");
    expect(board.usb.take()).toBe("\r\n  Logged in.\r\n>");
    expect(board.consoleLock().locked).toBe(false);
  });

  it("E.setConsole(null) leaves USB without a REPL", () => {
    const { board } = booted();
    board.usb.write("E.setConsole(null,{force:true})\r");
    board.usb.take();
    board.usb.write("1+1\r");
    expect(board.usb.take()).toBe("");
  });

  it("EVAL, EVENT and FILE_SEND/DATA packets reach the runtime and its Storage", () => {
    const { board } = booted();
    board.usb.write(encodePacket(PacketType.EVAL, "[1,2].length"));
    const r = new PacketReader();
    r.push(board.usb.take());
    expect(r.acks).toEqual(["\x06"]);
    expect(r.packets).toEqual([{ type: PacketType.RESPONSE, payload: "2" }]);
    board.usb.write(encodePacket(PacketType.EVENT, "{n:1}"));
    expect(board.usb.take()).toBe("\x15");
    board.usb.write("\x10var got=0;E.on('packet',function(o){got=o.n})\n");
    board.usb.write(encodePacket(PacketType.EVENT, "{n:5}"));
    expect(board.usb.take()).toBe("\x06");
    board.usb.write("got\r");
    expect(board.usb.take()).toBe("got\r\n=5\r\n>");
    board.usb.write(encodePacket(PacketType.FILE_SEND, "{fn:\"f\",s:6}") + encodePacket(PacketType.DATA, "abc") + encodePacket(PacketType.DATA, "def"));
    expect(board.usb.take()).toBe("\x06\x06\x06");
    expect(board.storage.read("f")).toBe("abcdef");
  });

  it("NAKs an unfinished packet after 5 s of board time", () => {
    const { board } = booted();
    board.usb.write("\x10\x01\x20\x09abc");
    board.advance(4999);
    expect(board.usb.take()).toBe("");
    board.advance(1);
    expect(board.usb.take()).toBe("\x15");
  });
});
