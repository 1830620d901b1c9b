// Seeded randomness. Every random thing on the virtual board (E.hwRand, Math.random, getSerial,
// fault injection) draws from its own stream derived from the board seed, so adding a draw in
// one place never changes another's sequence.

export type Rng = () => number; // uint32

export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Independent stream `name` of board seed `seed` (FNV-1a of the name mixed into the seed). */
export function stream(seed: number, name: string): Rng {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return mulberry32((seed ^ h) >>> 0);
}

/** Uniform float in [0, 1). */
export function unit(r: Rng): number {
  return r() / 0x100000000;
}
