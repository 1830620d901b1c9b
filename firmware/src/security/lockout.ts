// Growing delay after wrong PINs (SECURITY.md §4). The window lives in RAM; after a reboot the
// carrier re-arms it from the durable failure count, so pulling power does not skip it.
export const FREE_FAILURES = 2;
export const FIRST_DELAY_MS = 1000;
export const MAX_DELAY_MS = 60000;

export function delayAfterFailures(failures: number): number {
  if (failures <= FREE_FAILURES) return 0;
  let d = FIRST_DELAY_MS;
  for (let i = FREE_FAILURES + 1; i < failures && d < MAX_DELAY_MS; i++) d = d * 2;
  return d > MAX_DELAY_MS ? MAX_DELAY_MS : d;
}
