// Checks typed arrays: element wrap-around per type, subarray sharing memory, slice copying, set() and views.
function list(a: { length: number; [i: number]: number }): string {
  let s = "";
  for (let i = 0; i < a.length; i++) s += (i ? "," : "") + a[i];
  return s;
}

const u8 = new Uint8Array(4);
u8[0] = 255;
u8[1] = 256;
u8[2] = -1;
u8[3] = 0x1234;
console.log("u8 " + list(u8));

const u16 = new Uint16Array([65535, 65536, 70000, -2]);
console.log("u16 " + list(u16));
const u32 = new Uint32Array([0xffffffff, 0x100000000, -1]);
console.log("u32 " + list(u32));
const i32 = new Int32Array([0x7fffffff, 0x80000000, 0xffffffff]);
console.log("i32 " + list(i32));

const base = new Uint8Array([1, 2, 3, 4, 5, 6]);
const shared = base.subarray(2, 5);
const copied = base.slice(2, 5);
shared[0] = 99;
copied[1] = 77;
console.log("base " + list(base));
console.log("subarray " + list(shared) + " length " + shared.length);
console.log("slice " + list(copied));

const target = new Uint8Array(6);
target.set([9, 8], 1);
target.set(base.subarray(0, 2), 4);
console.log("set " + list(target));

// Views over one ArrayBuffer with different element sizes (little-endian host and board).
const buf = new ArrayBuffer(8);
const bytes = new Uint8Array(buf);
const words = new Uint16Array(buf);
const dwords = new Uint32Array(buf);
dwords[0] = 0x11223344;
words[2] = 0xabcd;
console.log("bytes " + list(bytes));
console.log("buffer length " + buf.byteLength + " view offset " + new Uint8Array(buf, 3, 2).byteOffset);

const filled = new Uint8Array(5).fill(7);
console.log("fill " + list(filled));
