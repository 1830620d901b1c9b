// The only firmware module that touches Espruino globals. Everything else is plain TypeScript.
export function boardSerial(): string {
  return getSerial();
}

export function log(line: string): void {
  print(line);
}
