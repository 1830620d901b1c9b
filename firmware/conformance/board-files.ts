// Files for replaying the conformance corpus on a real board, and the check of a captured log.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { compareOutput, compileProgramResult, readExpected } from "./corpus.ts";
import { programOutputFromTranscript, startMarker, startMarkerStatement } from "./transcript.ts";

export interface WrittenProgram { name: string; file: string; bytes: number; polyfills: string[] }

/**
 * Writes DIR/NN-name.js (the compiled program behind a start-marker line), DIR/NN-name.expected.txt
 * and DIR/README.txt (how to replay them on a board), and returns what was written.
 */
export async function writeBoardFiles(dir: string, programs: string[], opts: { debug: boolean }): Promise<WrittenProgram[]> {
  if (programs.length === 0) throw new Error("writeBoardFiles: no programs given; pass names from listPrograms()");
  mkdirSync(dir, { recursive: true });
  const results = await Promise.all(programs.map((name) => compileProgramResult(name, { minify: !opts.debug })));
  const written = programs.map((name, i): WrittenProgram => {
    const code = startMarkerStatement(name) + results[i].code;
    const file = path.join(dir, name + ".js");
    writeFileSync(file, code);
    writeFileSync(path.join(dir, name + ".expected.txt"), readExpected(name));
    return { name, file, bytes: code.length, polyfills: results[i].polyfills };
  });
  const sizes = written.map((w) => `  ${w.name.padEnd(24)} ${String(w.bytes).padStart(6)} bytes${w.polyfills.length ? "  polyfills: " + w.polyfills.join(",") : ""}`);
  const smallest = Math.min(...written.map((w) => w.bytes));
  writeFileSync(path.join(dir, "README.txt"), readme(opts.debug, programs[0], sizes, smallest));
  return written;
}

/** Compares a captured board console log of one program with its expected output. */
export function checkBoardLog(name: string, transcript: string): { ok: boolean; message: string } {
  const expected = readExpected(name);
  const actual = programOutputFromTranscript(transcript, name);
  const c = compareOutput(expected, actual);
  if (c.ok) return { ok: true, message: `${name}: board output matches (${expected.split("\n").length - 1} lines)` };
  return { ok: false, message: `${name}: MISMATCH at line ${c.line}\n  expected: ${c.expected}\n  board:    ${c.actual}` };
}

function readme(debug: boolean, example: string, sizes: string[], smallest: number): string {
  return `KeyCarrier conformance corpus — files for a real Espruino board
===============================================================

Each NN-name.js is one conformance program compiled by the firmware pipeline
(${debug ? "debug build: readable, not minified" : "release build: minified"}), a standalone ES5 script.
NN-name.expected.txt is exactly what it must print. The first line each file
prints is a marker, "${startMarker(example)}", which is not part of the expected output:
it shows where the program's own output starts in a console log.

Replaying on a board
--------------------
1. Connect the board over USB (or Bluetooth) and note its port, e.g. /dev/ttyACM0.
2. Upload one program to flash and run it from there (function text stays in flash,
   which is what the firmware does; about 10 KB of source held in RAM runs a
   Puck.js out of memory), while capturing the console:

     npx espruino --no-ble -p /dev/ttyACM0 --sleep 10 --storage .bootcde:- ${example}.js | tee ${example}.log

   Without --storage the upload goes through the REPL into RAM; that also works
   for the small programs on boards with enough memory.
   --sleep 10 keeps the connection open until the program is done: timers wait
   at most 100 ms, but the pure-JS CRC-32 and SHA-256 programs take seconds on a
   64 MHz board (about 0.2 ms per simple statement).
3. Compare the log with the expected output:

     npm run conformance -- --check ${example} ${example}.log

   The check keeps what follows the marker line, drops the REPL prompt ">",
   "=value" echoes, the "\\r\\x1b[J" sequences printed before asynchronous output,
   and empty lines, then compares line by line.

By hand: paste a file into the Web IDE's right-hand editor and press Upload, or
paste its text into the REPL; the lines after the marker must equal
NN-name.expected.txt.

Known tool quirk (EspruinoTools 0.1.67): an upload that fits in one 512-byte
block hangs the CLI; the smallest file here is ${smallest} bytes${smallest <= 512 ? " — pad it with a comment before uploading it with the CLI" : ""}.
Erase the program afterwards with: require("Storage").erase(".bootcde"); reset();

Files (size as uploaded)
------------------------
${sizes.join("\n")}
`;
}

