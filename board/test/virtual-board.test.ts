import { describe, expect, it } from "vitest";
import { PowerCut, VirtualBoard } from "../src/virtual-board.ts";

// Boot order and power behaviour: /work/shared/espruino-facts.md §5 "Boot", §9; pins/watches §7;
// console devices §6; NFC §7.
function val(b: VirtualBoard, code: string): unknown {
  const r = b.evaluate(code);
  if (!r.ok) throw r.error;
  return r.value;
}
const bootFiles = (b: VirtualBoard) => {
  for (const f of [".bootPowerOn", ".boot0", ".boot1", ".boot2", ".boot3", ".bootcde"]) {
    b.storage.write(f, `print("${f}"); E.on("init", function(){ print("init after ${f}") });`);
  }
};

describe("boot sequence", () => {
  it("power on: .bootPowerOn, .boot0-3, .bootcde, then E.on('init')", () => {
    const b = new VirtualBoard({ board: "nrf52840" });
    bootFiles(b);
    b.powerOn();
    expect(b.takeOutput().split("\r\n").filter(Boolean)).toEqual([
      ".bootPowerOn", ".boot0", ".boot1", ".boot2", ".boot3", ".bootcde",
      "init after .bootPowerOn", "init after .boot0", "init after .boot1", "init after .boot2", "init after .boot3", "init after .bootcde",
    ]);
  });

  it(".bootrst replaces .bootcde; reset() runs only .boot0 and .bootrst; load() reruns .boot0-3 without .bootPowerOn", () => {
    const b = new VirtualBoard({ board: "nrf52840" });
    bootFiles(b);
    b.storage.write(".bootrst", 'print(".bootrst")');
    b.powerOn();
    expect(b.takeOutput()).toMatch(/\.boot3\r\n\.bootrst\r\ninit/);
    val(b, "E.on('kill', function(){ print('kill') }); reset()");
    expect(b.takeOutput().split("\r\n").filter(Boolean)).toEqual(["kill", ".boot0", ".bootrst", "init after .boot0"]);
    val(b, "load()");
    expect(b.takeOutput().split("\r\n").filter(Boolean).slice(0, 5)).toEqual([".boot0", ".boot1", ".boot2", ".boot3", ".bootrst"]);
  });

  it("E.setBootCode writes .bootcde (or .bootrst with always) and save() refuses while .bootcde exists", () => {
    const b = new VirtualBoard({ board: "pico" });
    b.powerOn();
    val(b, "E.setBootCode('print(\"booted \" + getSerial().length)')");
    expect(b.storage.read(".bootcde")).toBe('print("booted " + getSerial().length)');
    expect(b.evaluate("save()")).toMatchObject({ ok: false });
    expect(String((b.evaluate("save()") as { error: unknown }).error)).toMatch(/save\(\) refused: Storage holds \.bootcde/);
    b.powerCut();
    b.powerOn();
    expect(b.takeOutput()).toBe("booted 17\r\n");
  });

  it("holding BTN1 at power-on skips every boot file on nRF52 boards", () => {
    const b = new VirtualBoard({ board: "puckjs" });
    bootFiles(b);
    b.pressButton(1);
    b.powerOn();
    expect(b.takeOutput()).toBe("");
    b.releaseButton(1);
    b.powerCut();
    b.powerOn();
    expect(b.takeOutput()).toMatch(/^\.bootPowerOn/);
  });

  it("an error in boot code prints Uncaught and the rest of the boot still runs", () => {
    const b = new VirtualBoard({ board: "nrf52840" });
    b.storage.write(".boot0", "undefinedFunction()");
    b.storage.write(".bootcde", "print('app')");
    b.powerOn();
    expect(b.takeOutput()).toBe("Uncaught ReferenceError: undefinedFunction is not defined\r\napp\r\n");
  });

  it("corrupt Storage is wiped at boot with Espruino's message", () => {
    const b = new VirtualBoard({ board: "nrf52840" });
    b.storage.write("keys", "secret");
    b.flash.write(0, new Uint8Array([0, 0, 0, 0])); // clobber the first header's size word
    b.powerOn();
    expect(b.takeOutput()).toMatch(/^Storage is corrupt\.\r\n/);
    expect(b.storage.list()).toEqual([]);
  });
});

describe("power", () => {
  it("powerCut keeps flash and loses RAM (variables, timers, console state)", () => {
    const b = new VirtualBoard({ board: "nrf52840" });
    b.powerOn();
    val(b, "var counter = 41; require('Storage').write('n', '42'); setInterval(function(){ counter++ }, 10); E.setConsole(null)");
    b.powerCut();
    expect(b.isOn).toBe(false);
    b.advance(100);
    b.powerOn();
    expect(val(b, "typeof counter")).toBe("undefined");
    expect(val(b, "require('Storage').read('n')")).toBe("42");
    expect(b.consoleDevice).toBe("USB");
    expect(b.runUntilIdle(1000)).toBe(0);
  });

  it("a power cut after the n-th flash word write stops the firmware mid-write; the board reboots from flash", () => {
    const b = new VirtualBoard({ board: "nrf52840" });
    b.storage.write(".bootcde", "print('up ' + require('Storage').list().length)");
    b.powerOn();
    b.takeOutput();
    b.cutPowerAfterFlashWrites(3);
    const r = b.evaluate("var caught; try { require('Storage').write('big', 'x'.repeat(100)) } catch (e) { caught = e } print('after')");
    expect(r.ok).toBe(true);
    expect(b.isOn).toBe(false);
    expect(b.takeOutput()).toBe(""); // nothing printed after the cut, even though firmware caught the error
    b.powerOn();
    expect(b.takeOutput()).toMatch(/^up /);
  });

  it("a power cut at a native call and at a virtual time", () => {
    const b = new VirtualBoard({ board: "nrf52840" });
    b.powerOn();
    b.cutPowerOnNativeCall("Storage.write", 2);
    val(b, "require('Storage').write('a', '1')");
    b.evaluate("require('Storage').write('b', '2')");
    expect(b.isOn).toBe(false);
    expect(b.storage.read("a")).toBe("1");
    expect(b.storage.read("b")).toBeUndefined();
    b.powerOn();
    val(b, "var ticks = 0; setInterval(function(){ ticks++ }, 10)");
    b.cutPowerAt(b.now() + 55);
    b.advance(100);
    expect(b.isOn).toBe(false);
  });

  it("an unkicked watchdog resets the board in virtual time; kicking keeps it alive", () => {
    const b = new VirtualBoard({ board: "nrf52840" });
    b.storage.write(".bootcde", "print('boot')");
    b.powerOn();
    b.takeOutput();
    val(b, "E.enableWatchdog(1, false); setInterval(function(){ E.kickWatchdog() }, 500)");
    b.advance(3000);
    expect(b.takeOutput()).toBe("");
    val(b, "clearInterval()");
    b.advance(999);
    expect(b.takeOutput()).toBe("");
    b.advance(2);
    expect(b.takeOutput()).toBe("boot\r\n");
    expect(b.transcript()).toMatch(/\[watchdog reset\]/);
  });

  it("E.reboot() is a hardware reset: no kill event, no .bootPowerOn", () => {
    const b = new VirtualBoard({ board: "nrf52840" });
    bootFiles(b);
    b.powerOn();
    b.takeOutput();
    val(b, "E.on('kill', function(){ print('kill') }); E.reboot()");
    const out = b.takeOutput();
    expect(out).not.toMatch(/kill|bootPowerOn/);
    expect(out).toMatch(/^\.boot0/);
  });
});

describe("buttons, LEDs and setWatch", () => {
  it("button watches default to rising edge with a 25 ms debounce; bounce is filtered", () => {
    const b = new VirtualBoard({ board: "puckjs" });
    b.powerOn();
    val(b, "var ev=[]; setWatch(function(e){ ev.push(e.state + '@' + Math.round(e.time*1000)) }, BTN, {repeat:true})");
    b.advance(100);
    b.pressButton(1, { bounceMs: [2, 4, 6] }); // down, up, down, up… ends pressed
    b.advance(100);
    b.releaseButton(1);
    b.advance(100);
    expect(val(b, "ev.join()")).toBe("true@106");
    expect(val(b, "digitalRead(BTN1)")).toBe(0);
  });

  it("edge 'both' without debounce reports every change; repeat:false fires once; clearWatch rules", () => {
    const b = new VirtualBoard({ board: "nrf52840" });
    b.powerOn();
    val(b, "var ev=[]; setWatch(function(e){ ev.push(e.state) }, BTN2, {repeat:true, edge:'both', debounce:0}); var once=0; setWatch(function(){ once++ }, BTN2)");
    b.clickButton(2, 50);
    b.clickButton(2, 50);
    b.advance(100);
    expect(val(b, "ev.join()")).toBe("true,false,true,false");
    expect(val(b, "once")).toBe(1);
    expect(b.evaluate("clearWatch(undefined)").ok).toBe(false);
    val(b, "clearWatch()");
    b.clickButton(2);
    b.advance(100);
    expect(val(b, "ev.length")).toBe(4);
  });

  it("LEDs follow digitalWrite and pin methods", () => {
    const b = new VirtualBoard({ board: "puckjs" });
    b.powerOn();
    val(b, "digitalWrite(LED1, 1); LED3.set(); digitalWrite([LED1, LED2], 1)");
    expect(b.leds()).toEqual([false, true, true]);
    val(b, "LED3.reset(); LED1.toggle()");
    expect(b.leds()).toEqual([true, true, false]);
  });
});

describe("USB and the console seam", () => {
  it("USB.on('data') gets byte strings in the chunks the harness chooses once the console moves away", () => {
    const b = new VirtualBoard({ board: "nrf52840" });
    b.powerOn();
    val(b, "var got=[]; USB.on('data', function(d){ got.push(d) }); LoopbackA.setConsole()");
    expect(b.consoleDevice).toBe("LoopbackA");
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    b.usb.write(all, { chunks: [1, 100, 55] });
    expect(val(b, "got.map(function(c){return c.length}).join()")).toBe("1,100,55,100");
    expect(val(b, "var s=got.join(''); var ok=s.length===256; for (var i=0;i<256;i++) ok = ok && s.charCodeAt(i)===i; ok")).toBe(true);
  });

  it("USB.write sends all 256 byte values unchanged; print goes to the console device", () => {
    const b = new VirtualBoard({ board: "nrf52840" });
    b.powerOn();
    b.usb.take();
    val(b, "var s=''; for (var i=0;i<256;i++) s+=String.fromCharCode(i); USB.write(s); USB.println('x'); print('hi')");
    const out = b.usb.take();
    expect(out.length).toBe(256 + 3 + 4);
    expect([...out.slice(0, 256)].every((c, i) => c.charCodeAt(0) === i)).toBe(true);
    expect(out.slice(256)).toBe("x\r\nhi\r\n");
    val(b, "E.setConsole(null); print('gone')");
    expect(b.usb.take()).toBe("");
    expect(b.transcript()).toMatch(/gone/);
  });

  it("host bytes on the console device go to the attached console module", () => {
    const b = new VirtualBoard({ board: "nrf52840" });
    b.powerOn();
    const seen: string[] = [];
    b.attachConsole({ receive: (bytes) => { seen.push(bytes); const r = b.evaluate(bytes); b.writeConsole(`=${String((r as { value: unknown }).value)}\r\n`); } });
    b.usb.take();
    b.usb.write("1+2");
    expect(seen).toEqual(["1+2"]);
    expect(b.usb.take()).toBe("=3\r\n");
  });

  it("seeded link faults split, drop, duplicate and garble reproducibly", () => {
    const run = (seed: number) => {
      const b = new VirtualBoard({ board: "nrf52840" });
      b.powerOn();
      val(b, "var got=''; USB.on('data', function(d){ got += d }); E.setConsole(null)");
      const faults = b.usb.setFaults({ seed, split: 0.2, drop: 0.1, duplicate: 0.1, garble: 0.1 })!;
      b.usb.write("0123456789".repeat(50));
      return { got: val(b, "got") as string, log: faults.log.map((e) => e.kind) };
    };
    const a = run(5), a2 = run(5);
    expect(a).toEqual(a2);
    expect(new Set(a.log)).toEqual(new Set(["split", "drop", "duplicate", "garble"]));
    expect(a.got).not.toBe("0123456789".repeat(50));
    expect(run(6).got).not.toBe(a.got);
  });

  it("a Puck.js has no USB; its console is Serial1", () => {
    const b = new VirtualBoard({ board: "puckjs" });
    b.powerOn();
    expect(b.consoleDevice).toBe("Serial1");
    expect(() => b.usb.write("x")).toThrow(/no USB/);
    expect(val(b, "typeof USB")).toBe("undefined");
  });
});

describe("NFC", () => {
  it("nfcStart returns the 10-byte tag header; NFCrx frames are answered with nfcSend", async () => {
    const b = new VirtualBoard({ board: "puckjs" });
    b.powerOn();
    const header = val(b, "var log=[]; NRF.on('NFCon', function(){log.push('on')}); NRF.on('NFCoff', function(){log.push('off')}); " +
      "NRF.on('NFCrx', function(f){ var u=new Uint8Array(f); if (u[0]===0x30) NRF.nfcSend([u[1],1,2,3]); else NRF.nfcSend(0x0A) }); " +
      "[].slice.call(new Uint8Array(NRF.nfcStart([1,2,3,4,5,6,7])))");
    expect(header).toEqual([1, 2, 3, 0x88 ^ 1 ^ 2 ^ 3, 4, 5, 6, 7, 4 ^ 5 ^ 6 ^ 7, 0x48]);
    b.nfc.fieldOn();
    expect([...(await b.nfc.transceive(Uint8Array.of(0x30, 4)))]).toEqual([4, 1, 2, 3]);
    const ack = await b.nfc.transceive(Uint8Array.of(0xa2, 4, 0, 0, 0, 0));
    expect(ack.ack4).toBe(0x0a);
    await expect(b.nfc.transceive(new Uint8Array(256))).rejects.toThrow(/1\.\.255 bytes/);
    await expect(b.nfc.transceive(Uint8Array.of(0x30, 0), { loseFieldAfterRx: true })).rejects.toThrow(/field lost/);
    expect(val(b, "log.join()")).toBe("on,off");
  });

  it("no reply within the frame delay is a reader timeout; a board without NFC has no NFC API", async () => {
    const b = new VirtualBoard({ board: "nrf52840" });
    b.powerOn();
    val(b, "NRF.nfcStart(); NRF.on('NFCrx', function(){ setTimeout(function(){ NRF.nfcSend([1]) }, 10) })");
    b.nfc.fieldOn();
    await expect(b.nfc.transceive(Uint8Array.of(0x30, 0))).rejects.toThrow(/no nfcSend\(\) within 4\.83 ms/);
    const pico = new VirtualBoard({ board: "pico" });
    pico.powerOn();
    expect(val(pico, "typeof NRF")).toBe("undefined");
    expect(() => pico.nfc.fieldOn()).toThrow(/has no NFC/);
  });
});

describe("events", () => {
  it("E.emit runs listeners inline; their promise jobs run after the current code, as on a board", () => {
    const b = new VirtualBoard({ board: "nrf52840" });
    b.powerOn();
    expect(val(b, "var got=[]; E.on('x', function(a){ got.push(a); Promise.resolve().then(function(){ got.push('job') }) }); E.emit('x', 1); got.push('after'); got.join()")).toBe("1,after");
    expect(val(b, "got.join()")).toBe("1,after,job");
  });

  it("LoopbackA and LoopbackB are wired to each other", () => {
    const b = new VirtualBoard({ board: "puckjs" });
    b.powerOn();
    val(b, "var rx=''; LoopbackB.on('data', function(d){ rx += d }); LoopbackA.write([0, 255, 65])");
    expect(val(b, "[].map.call(rx, function(c){ return c.charCodeAt(0) }).join()")).toBe("0,255,65");
  });

  it("process.memory() charges boot code run from Storage (facts §8: ~34 + 33 vars per KB)", () => {
    const b = new VirtualBoard({ board: "puckjs" });
    b.storage.write(".bootcde", "function f(){ return 1 }\n" + "//" + "x".repeat(5000));
    b.powerOn();
    const usage = val(b, "process.memory().usage") as number;
    expect(usage).toBeGreaterThan(150);
    expect(usage).toBeLessThan(260);
  });
});

describe("misc", () => {
  it("PowerCut is re-exported for hosts that inject cuts themselves", () => {
    expect(new PowerCut("x")).toBeInstanceOf(Error);
  });
});
