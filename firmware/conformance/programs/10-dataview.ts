// Checks DataView get/set in big- and little-endian for 8/16/32-bit signed and unsigned values, and float32 bytes.
function hex(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += ("0" + bytes[i].toString(16)).slice(-2);
  return s;
}

const buf = new ArrayBuffer(12);
const view = new DataView(buf);
const bytes = new Uint8Array(buf);

view.setUint16(0, 0x1234); // big-endian by default
view.setUint16(2, 0x1234, true);
view.setUint32(4, 0xdeadbeef);
view.setInt32(8, -2, true);
console.log("bytes " + hex(bytes));
console.log("u16 be " + view.getUint16(0).toString(16) + " le " + view.getUint16(0, true).toString(16));
console.log("u32 be " + view.getUint32(4).toString(16) + " le " + view.getUint32(4, true).toString(16));
console.log("i32 le " + view.getInt32(8, true) + " be " + view.getInt32(8));
console.log("i8 " + view.getInt8(4) + " u8 " + view.getUint8(4));
console.log("i16 be " + view.getInt16(4) + " u16 le " + view.getUint16(10, true));

view.setInt16(0, -300);
console.log("i16 -300 be bytes " + hex(bytes.subarray(0, 2)) + " read " + view.getInt16(0));
view.setFloat32(0, 1.5);
console.log("float32 1.5 be bytes " + hex(bytes.subarray(0, 4)) + " read*2 " + view.getFloat32(0) * 2);

// A DataView over part of a buffer uses offsets relative to its own start.
const part = new DataView(buf, 4, 4);
console.log("part u16 " + part.getUint16(2).toString(16) + " byteLength " + part.byteLength);
