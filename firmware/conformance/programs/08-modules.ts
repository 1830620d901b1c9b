// Checks multi-file import/export: named imports from lib/, a re-used enum, and a class imported across files.
import { bytesEqual, bytesToString, concatBytes, stringToBytes } from "./lib/bytes.ts";
import { CodedError, ErrorCode } from "./lib/errors.ts";
import { fromHex, toHex } from "./lib/hex.ts";
import * as crc from "./lib/crc32.ts";

const greeting = stringToBytes("key");
const tail = fromHex("2d3031");
const joined = concatBytes(greeting, tail);
console.log("joined " + bytesToString(joined) + " hex " + toHex(joined));
console.log("equal " + bytesEqual(joined, stringToBytes("key-01")) + " " + bytesEqual(joined, stringToBytes("key-02")));
console.log("crc " + ("00000000" + crc.crc32(joined).toString(16)).slice(-8));
console.log("enum across files " + ErrorCode.Overflow);

const err = new CodedError(ErrorCode.Closed, "port closed");
console.log(err.describe());
console.log("is CodedError " + (err instanceof CodedError));
