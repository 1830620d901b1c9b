// Checks a pure-JS CRC-32 against known vectors: "123456789" -> cbf43926 (CRC RevEng catalogue check value).
import { crc32 } from "./lib/crc32.ts";
import { stringToBytes } from "./lib/bytes.ts";

function hex32(n: number): string {
  return ("00000000" + n.toString(16)).slice(-8);
}

// Vectors: the catalogue check value, the empty input, and the pangram value printed by zlib's crc32.
const vectors = ["123456789", "", "The quick brown fox jumps over the lazy dog"];
for (let i = 0; i < vectors.length; i++) {
  console.log("crc32(\"" + vectors[i] + "\") = " + hex32(crc32(stringToBytes(vectors[i]))));
}

// A record guarded by a trailing CRC: detect a single flipped bit.
const record = stringToBytes("counter=41;");
const sum = crc32(record);
record[3] ^= 0x04;
console.log("corruption detected " + (crc32(record) !== sum));
record[3] ^= 0x04;
console.log("restored matches " + (crc32(record) === sum));

const zeros = new Uint8Array(32);
console.log("crc32(32 zero bytes) = " + hex32(crc32(zeros)));
