// Checks 32-bit integer math: |0 and >>>0 at the edges, overflow, shifts, and a 32x32 multiply from 16-bit halves.
function u32hex(n: number): string {
  return ("00000000" + (n >>> 0).toString(16)).slice(-8);
}

console.log("max|0 " + (0x7fffffff | 0) + " max+1|0 " + ((0x7fffffff + 1) | 0));
console.log("-1>>>0 " + (-1 >>> 0) + " 2^32|0 " + (0x100000000 | 0) + " 2^32+5|0 " + ((0x100000000 + 5) | 0));
console.log("0xffffffff|0 " + (0xffffffff | 0) + " 0x80000000>>>0 " + (0x80000000 >>> 0));
console.log("1<<31 " + (1 << 31) + " 1<<32 " + (1 << 32) + " -8>>1 " + (-8 >> 1) + " -8>>>28 " + (-8 >>> 28));
console.log("~0 " + ~0 + " ~-1 " + ~-1 + " xor " + (0xf0f0f0f0 ^ 0x0ff00ff0));
console.log("add overflow " + ((0xffffffff + 2) >>> 0) + " sub underflow " + ((0 - 1) >>> 0));

// Multiply two uint32 values modulo 2^32 without Math.imul (absent on Espruino).
function mul32(a: number, b: number): number {
  const aHi = (a >>> 16) & 0xffff;
  const aLo = a & 0xffff;
  const bHi = (b >>> 16) & 0xffff;
  const bLo = b & 0xffff;
  return (aLo * bLo + (((aHi * bLo + aLo * bHi) << 16) >>> 0)) >>> 0;
}
console.log("mul32 " + u32hex(mul32(0xdeadbeef, 0xcafebabe)) + " " + u32hex(mul32(0xffffffff, 0xffffffff)) + " " + u32hex(mul32(65537, 65537)));

function rotl(x: number, n: number): number {
  return ((x << n) | (x >>> (32 - n))) >>> 0;
}
console.log("rotl " + u32hex(rotl(0x80000001, 1)) + " " + u32hex(rotl(0x12345678, 8)));

// FNV-1a 32-bit over "hello" (uses mul32 for the prime multiply).
let h = 0x811c9dc5;
const text = "hello";
for (let i = 0; i < text.length; i++) {
  h ^= text.charCodeAt(i);
  h = mul32(h, 0x01000193);
}
console.log("fnv1a(hello) " + u32hex(h));

console.log("div trunc " + ((7 / 2) | 0) + " " + ((-7 / 2) | 0) + " mod " + (-7 % 3) + " floor " + Math.floor(-3.5));
console.log("2^53 safe " + (9007199254740991 - 9007199254740990) + " big int product " + 123456 * 654321);
