// The lockout text and a timing-blind comparison, shared by the verdict counting (carrier.ts) and
// PAY (SECURITY.md §4). The PIN itself never reaches the carrier (online PIN, PROTOCOL.md §7.5).

// The detail of every BUSY in the lockout window after verdicts that were not an authentic OK.
export function lockedOut(waitMs: number): string {
  return "retry after " + Math.ceil(waitMs) + " ms";
}

// Equality whose timing does not depend on where a and b differ: both sides are hashed under a
// fresh random key before the (early-exit) native compare, so an attacker timing the compare
// learns nothing about the expected MAC. Two native calls instead of a 16-step JS loop.
export function blindedEqual(crypto: { sha256(s: string): string; randomBytes?: (n: number) => string; random?: (n: number) => string }, a: string, b: string): boolean {
  const k = crypto.randomBytes !== undefined ? crypto.randomBytes(16) : crypto.random!(16);
  return crypto.sha256(k + a) === crypto.sha256(k + b);
}
