// Checks byte strings: String.fromCharCode/charCodeAt for every value 0-255 and escapes inside strings.
let all = "";
for (let i = 0; i < 256; i++) all += String.fromCharCode(i);
console.log("length " + all.length);

let sum = 0;
let ok = true;
for (let i = 0; i < all.length; i++) {
  const c = all.charCodeAt(i);
  sum += c;
  if (c !== i) ok = false;
}
console.log("round trip " + ok + " sum " + sum);

const packet = "\x10\x01\x20\x05" + "hello";
console.log("packet length " + packet.length + " first " + packet.charCodeAt(0) + " type " + ((packet.charCodeAt(2) << 8) | packet.charCodeAt(3)));
console.log("high bytes " + "\xff\x80\x7f".charCodeAt(0) + "," + "\xff\x80\x7f".charCodeAt(1) + "," + "\xff\x80\x7f".charCodeAt(2));
console.log("multi arg " + String.fromCharCode(75, 67, 50));
console.log("out of range charCodeAt is NaN: " + isNaN("ab".charCodeAt(5)));

// XOR two byte strings; stays within 0-255.
function xorStrings(a: string, b: string): string {
  let out = "";
  for (let i = 0; i < a.length; i++) out += String.fromCharCode(a.charCodeAt(i) ^ b.charCodeAt(i % b.length));
  return out;
}
const masked = xorStrings("secret", "\xaa\x55");
let codes = "";
for (let i = 0; i < masked.length; i++) codes += (i ? "," : "") + masked.charCodeAt(i);
console.log("masked " + codes);
console.log("unmasked " + xorStrings(masked, "\xaa\x55"));
