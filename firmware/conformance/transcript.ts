// Turns what a real board printed while running a conformance program into plain program output,
// so a captured serial log can be compared with NN-name.expected.txt.
// Console conventions (espruino-facts §6): lines end "\r\n"; output printed asynchronously (timers,
// promises) is preceded by "\r\x1b[J" and followed by a reprinted prompt ">"; a command's value
// is echoed as "=value". Board files start with a marker line, and only what follows it counts,
// so the boot banner and uploader chatter before it are ignored.

/** The first line a board build of `name` prints; the program's own output follows it. */
export function startMarker(name: string): string {
  return "<<<conformance " + name + ">>>";
}

/** ES5 prefix that prints the start marker; prepended to the files written for boards. */
export function startMarkerStatement(name: string): string {
  return "console.log(" + JSON.stringify(startMarker(name)) + ");\n";
}

/**
 * The program's output lines (each followed by "\n") in a captured console transcript: everything
 * after the start marker, without prompts, "=value" echoes and empty lines. Throws when the marker
 * is missing, which means the upload failed or the log was captured too late.
 */
export function programOutputFromTranscript(transcript: string, name: string): string {
  const lines: string[] = [];
  const cleaned = transcript.replace(/\x1b\[J/g, "");
  for (const raw of cleaned.split("\n")) {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    // A carriage return moves back to column 0: what follows it overwrote the prompt before it.
    lines.push(line.slice(line.lastIndexOf("\r") + 1));
  }
  const marker = startMarker(name);
  const start = lines.lastIndexOf(marker);
  if (start < 0) {
    throw new Error(`transcript: no "${marker}" line; upload ${name}.js again and capture the console from before the upload`);
  }
  return lines
    .slice(start + 1)
    .filter((l) => l !== "" && l !== ">" && !l.startsWith("="))
    .map((l) => l + "\n")
    .join("");
}
