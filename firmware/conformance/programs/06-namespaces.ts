// Checks namespaces: exported functions and constants, nested namespaces, private namespace state.
namespace Codec {
  export const VERSION = 3;
  let encodeCalls = 0;
  export function encode(n: number): string {
    encodeCalls++;
    return "v" + VERSION + ":" + n.toString(16);
  }
  export function calls(): number {
    return encodeCalls;
  }
  export namespace Limits {
    export const MAX_FRAME = 255;
    export function fits(len: number): boolean {
      return len >= 0 && len <= MAX_FRAME;
    }
  }
}

// A namespace merged across two declarations.
namespace Codec {
  export function decode(s: string): number {
    return parseInt(s.split(":")[1], 16);
  }
}

console.log(Codec.encode(255));
console.log(Codec.encode(4096));
console.log("calls " + Codec.calls());
console.log("decode " + Codec.decode("v3:ff") + " " + Codec.decode(Codec.encode(48879)));
console.log("limits " + Codec.Limits.MAX_FRAME + " " + Codec.Limits.fits(255) + " " + Codec.Limits.fits(256));
console.log("version " + Codec.VERSION);
