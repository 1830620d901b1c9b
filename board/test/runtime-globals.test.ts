import { describe, expect, it } from "vitest";
import { VirtualBoard, BoardHang } from "../src/virtual-board.ts";
import { MISSING_GLOBALS, MISSING_PROTO, MISSING_STATICS } from "../src/runtime/prelude.ts";

// Behaviour under test: /work/shared/espruino-facts.md §1 (built-ins, errors, bytes), §9 (timers, events).
function on(id = "nrf52840", seed = 1): VirtualBoard {
  const b = new VirtualBoard({ board: id, seed, entryTimeoutMs: 2000 });
  b.powerOn();
  b.takeOutput();
  return b;
}
function val(b: VirtualBoard, code: string): unknown {
  const r = b.evaluate(code);
  if (!r.ok) throw r.error;
  return r.value;
}
function errorOf(b: VirtualBoard, code: string): string {
  const r = b.evaluate(code);
  if (r.ok) throw new Error(`expected ${code} to throw`);
  return String(r.error);
}

describe("Espruino's global world", () => {
  const b = on();

  it("built-ins Espruino lacks are absent", () => {
    const present: string[] = [];
    for (const g of MISSING_GLOBALS) if (val(b, `typeof ${g}`) !== "undefined") present.push(g);
    for (const [obj, names] of Object.entries(MISSING_STATICS))
      for (const n of names) if (val(b, `typeof ${obj}.${n}`) !== "undefined") present.push(`${obj}.${n}`);
    for (const [obj, names] of Object.entries(MISSING_PROTO))
      for (const n of names) if (val(b, `typeof ${obj}.prototype.${n}`) !== "undefined") present.push(`${obj}.prototype.${n}`);
    for (const x of ["Date.UTC", "Promise.prototype.finally", "Number.MAX_SAFE_INTEGER", "Number.EPSILON", "Array.from", "Object.freeze", "Math.imul"])
      if (val(b, `typeof ${x}`) !== "undefined") present.push(x);
    expect(present).toEqual([]);
  });

  it("what Espruino has still works", () => {
    expect(val(b, "[[1,2,3].find(function(x){return x>1}), [1,2].includes(2), 'ab'.padStart(4,'-'), Object.keys({a:1}).length].join()")).toBe("2,true,--ab,1");
    expect(val(b, "[Number('12'), Number.MAX_VALUE > 1, 5 instanceof Number, new Number(5) instanceof Number, (5).constructor === Number].join()")).toBe("12,true,false,true,true");
    expect(val(b, "typeof Math.sign + typeof Uint8Array + typeof DataView + typeof JSON.stringify")).toBe("functionfunctionfunctionfunction");
  });

  it("errors: .type, no .name, printed as 'Type: message'", () => {
    expect(val(b, "var e = new TypeError('bad'); [e.type, typeof e.name, String(e), e.message].join('|')")).toBe("TypeError|undefined|TypeError: bad|bad");
    expect(errorOf(b, "new RangeError('x')")).toMatch(/RangeError is not defined/);
  });

  it("strings are bytes: fromCharCode keeps 8 bits; apply takes at most 256 arguments", () => {
    expect(val(b, "String.fromCharCode(0x20AC).charCodeAt(0)")).toBe(172);
    expect(val(b, "String.fromCharCode.apply(null, [72, 105])")).toBe("Hi");
    expect(errorOf(b, "var a=[]; for (var i=0;i<300;i++) a.push(65); String.fromCharCode.apply(null, a)")).toMatch(/Maximum 256 arguments, got 300/);
    expect(errorOf(b, "Object.create({}, {x:{value:1}})")).toMatch(/propertiesObject is not supported yet/);
  });

  it("E conversions: any mix of string, number, array, typed array, ArrayBuffer; all 256 byte values", () => {
    expect(val(b, "var u = E.toUint8Array('ab', 1, [2,3], new Uint8Array([4]), new Uint8Array([5,6]).buffer); (u instanceof Uint8Array) + ':' + [].join.call(u)")).toBe("true:97,98,1,2,3,4,5,6");
    expect(val(b, "var s=''; for (var i=0;i<256;i++) s+=String.fromCharCode(i); var u=E.toUint8Array(s); E.toString(u)===s && u.length===256 && E.toArrayBuffer(s).byteLength===256")).toBe(true);
    expect(val(b, "E.toString({data:'ab',count:3})")).toBe("ababab");
    expect(val(b, "E.toJS({a:[1,2],s:'x','b-c':undefined})")).toBe('{a:[1,2],s:"x","b-c":undefined}');
  });

  it("E.CRC32 is the standard CRC-32 (check value of '123456789' is 0xCBF43926)", () => {
    // check value: the CRC RevEng catalogue, CRC-32/ISO-HDLC
    expect(val(b, "E.CRC32('123456789')")).toBe(0xcbf43926);
    expect(val(b, "E.CRC32(new Uint8Array([]))")).toBe(0);
  });

  it("E.hwRand and Math.random are seeded: same seed, same numbers; another seed differs", () => {
    const draw = (bd: VirtualBoard) => val(bd, "[E.hwRand(), E.hwRand(), Math.random()].join()");
    const a = draw(on("nrf52840", 7)), a2 = draw(on("nrf52840", 7)), c = draw(on("nrf52840", 8));
    expect(a).toBe(a2);
    expect(a).not.toBe(c);
    expect(val(b, "var r=E.hwRand(); r === (r|0)")).toBe(true);
    expect(val(b, "getSerial()")).toMatch(/^[0-9a-f]{8}-[0-9a-f]{8}$/);
  });

  it("process.memory() reports Espruino's fields from the var estimate", () => {
    const before = val(b, "process.memory().usage") as number;
    val(b, "var big=[]; for (var i=0;i<200;i++) big.push({i:i});");
    const m = val(b, "process.memory()") as Record<string, number>;
    expect(Object.keys(m)).toEqual(["free", "usage", "total", "history", "gc", "gctime", "blocksize"]);
    expect(m.total).toBe(12500);
    expect(m.blocksize).toBe(14);
    expect(m.usage).toBeGreaterThan(before + 200);
    expect(m.free).toBe(m.total! - m.usage!);
  });

  it("an infinite loop becomes a BoardHang error instead of hanging the test", () => {
    const h = new VirtualBoard({ board: "puckjs", entryTimeoutMs: 100 });
    h.powerOn();
    expect(() => h.evaluate("while(true){}")).toThrow(BoardHang);
  });
});

describe("timers on the virtual clock", () => {
  it("setTimeout/setInterval with functions, strings and extra args, in time order", () => {
    const b = on();
    val(b, "var log=[]; setTimeout(function(a,b){log.push('t'+a+b)}, 50, 1, 2); var iv=setInterval('log.push(\"i\"+Math.round(getTime()*1000))', 20); setTimeout('clearInterval(iv)', 70)");
    b.advance(49);
    expect(val(b, "log.join()")).toBe("i20,i40");
    b.advance(100);
    expect(val(b, "log.join()")).toBe("i20,i40,t12,i60");
  });

  it("clearTimeout(undefined) throws; clearTimeout() clears every timer", () => {
    const b = on();
    val(b, "var n=0; setTimeout(function(){n++},10); setInterval(function(){n++},10)");
    expect(errorOf(b, "clearTimeout(undefined)")).toMatch(/clearTimeout\(undefined\) not allowed/);
    expect(errorOf(b, "clearInterval(undefined)")).toMatch(/clearInterval\(undefined\) not allowed/);
    expect(errorOf(b, "clearTimeout(12345)")).toBe("Error: Unknown Timeout");
    expect(errorOf(b, "clearInterval(12345)")).toBe("Error: Unknown Interval");
    expect(errorOf(b, "setTimeout(42, 10)")).toBe("Error: Function or String not supplied!");
    val(b, "clearTimeout()");
    expect(b.runUntilIdle(1000)).toBe(0);
    expect(val(b, "n")).toBe(0);
  });

  it("changeInterval reschedules from now", () => {
    const b = on();
    val(b, "var t=[]; var id=setInterval(function(){t.push(Math.round(getTime()*1000))}, 100)");
    b.advance(150);
    val(b, "changeInterval(id, 10)");
    b.advance(25);
    expect(val(b, "t.join()")).toBe("100,160,170");
  });

  it("getTime() has the nRF52 RTC resolution (1/32768 s); Date follows the virtual clock", () => {
    const b = on();
    b.advance(1.01); // 33.09 ticks of 1/32768 s
    expect(val(b, "getTime()*32768")).toBe(33);
    b.advance(18.99); // 20 ms is 655.36 ticks: getTime() reads 655/32768 s, as a board would
    expect(val(b, "getTime()")).toBe(655 / 32768);
    b.advance(980);
    expect(val(b, "[Date.now(), new Date().getTime()].join()")).toBe("1000,1000");
  });

  it("an uncaught exception in a callback prints 'Uncaught ...' and other timers keep running", () => {
    const b = on();
    val(b, "setTimeout(function(){ throw new TypeError('oops') }, 10); setTimeout(function(){ print('later') }, 20)");
    b.advance(30);
    expect(b.takeOutput()).toBe("Uncaught TypeError: oops\r\nlater\r\n");
  });

  it("process.on('uncaughtException') receives errors silently, unhandled rejections included", () => {
    const b = on();
    val(b, "var got=[]; process.on('uncaughtException', function(e){ got.push(String(e)) }); setTimeout(function(){ throw new Error('a') }, 1); Promise.reject('r')");
    b.advance(5);
    expect(val(b, "got")).toEqual(["Error: Unhandled promise rejection: r", "Error: a"]);
    expect(b.takeOutput()).toBe("");
  });

  it("promise jobs run as 2v29 runs them: after every timer already due, one event per settlement step", () => {
    const b = on();
    // Both outputs measured on the real 2v29 interpreter (Linux build): Node would give
    // "sync,p1,p2,p3,t2" and "b,c,a,d".
    val(b, "var o=[]; setTimeout(function(){ Promise.resolve().then(function(){o.push('p1')}).then(function(){o.push('p3')}); Promise.resolve().then(function(){o.push('p2')}); o.push('sync') }, 5); setTimeout(function(){o.push('t2')}, 5)");
    b.advance(5);
    expect(val(b, "o.join()")).toBe("sync,t2,p1,p2,p3");
    expect(val(b, "var q=[]; new Promise(function(r){r(Promise.resolve(1))}).then(function(){q.push('a')}); Promise.resolve().then(function(){q.push('b')}).then(function(){q.push('c')}).then(function(){q.push('d')}); 0")).toBe(0);
    b.advance(1);
    expect(val(b, "q.join()")).toBe("b,a,c,d");
  });

  it("a setTimeout(f, 0) made after a .then still runs first, and an unhandled rejection leaks into the next reaction (2v29)", () => {
    const b = on();
    val(b, "var r=[]; Promise.resolve().then(function(){ r.push('then') }); setTimeout(function(){ r.push('timeout 0') }, 0)");
    b.advance(1);
    expect(val(b, "r.join()")).toBe("timeout 0,then");
    // measured on 2v29: the rejection's exception is picked up by the next reaction, whose own
    // promise then rejects unhandled too: one report, nested message
    val(b, "var u=[]; process.on('uncaughtException', function(e){ u.push(String(e)) }); setTimeout(function(){ Promise.reject('r'); Promise.resolve().then(function(){ u.push('after') }); }, 5)");
    b.advance(10);
    expect(val(b, "u.join('|')")).toBe("after|Error: Unhandled promise rejection: Error: Unhandled promise rejection: r");
  });
});
