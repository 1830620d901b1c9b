// `throw new Error(message)` spelled once for the whole bundle instead of ~35 times (size: the
// release bundle must fit the Puck.js, docs/espruino-facts.md §8). Same Error, same message.
export function raise(message: string): never {
  throw new Error(message);
}
