// Values crossing between the host (Node) and the board's vm context.
// Objects made by host code belong to Node's realm: `x instanceof ArrayBuffer` would be false inside
// the board. Everything handed to firmware is therefore built with the context's own constructors.
import vm from "node:vm";

export type ErrorType = "Error" | "TypeError" | "SyntaxError" | "ReferenceError" | "InternalError";

interface ContextCtors {
  Object: ObjectConstructor; Array: ArrayConstructor; ArrayBuffer: ArrayBufferConstructor;
  Uint8Array: Uint8ArrayConstructor; Error: ErrorConstructor; TypeError: ErrorConstructor;
  SyntaxError: ErrorConstructor; ReferenceError: ErrorConstructor;
}

export class Realm {
  readonly ctors: ContextCtors;
  constructor(readonly context: vm.Context) {
    // Captured before the prelude deletes anything; InternalError does not exist in V8, see newError.
    this.ctors = vm.runInContext(
      "({Object:Object,Array:Array,ArrayBuffer:ArrayBuffer,Uint8Array:Uint8Array,Error:Error,TypeError:TypeError,SyntaxError:SyntaxError,ReferenceError:ReferenceError})",
      context,
    ) as ContextCtors;
  }

  arrayBuffer(bytes: Uint8Array): ArrayBuffer {
    const ab = new this.ctors.ArrayBuffer(bytes.length);
    new this.ctors.Uint8Array(ab).set(bytes);
    return ab;
  }

  uint8Array(bytes: Uint8Array): Uint8Array {
    const u = new this.ctors.Uint8Array(bytes.length);
    u.set(bytes);
    return u;
  }

  object(): Record<string, unknown> {
    return new this.ctors.Object() as Record<string, unknown>;
  }

  array(items: unknown[]): unknown[] {
    const a = new this.ctors.Array() as unknown[];
    for (const item of items) a.push(item);
    return a;
  }

  /** Deep copy of plain data (objects, arrays, primitives, byte arrays) into the context realm. */
  copyIn(value: unknown): unknown {
    if (value === null || typeof value !== "object") return value;
    if (value instanceof Uint8Array) return this.uint8Array(value);
    if (value instanceof ArrayBuffer) return this.arrayBuffer(new Uint8Array(value));
    if (Array.isArray(value)) return this.array(value.map((v) => this.copyIn(v)));
    const out = this.object();
    for (const [k, v] of Object.entries(value)) out[k] = this.copyIn(v);
    return out;
  }

  newError(type: ErrorType, message: string): Error {
    // Espruino's InternalError has no V8 counterpart; a context Error with .type set stands in.
    const ctor = type === "InternalError" ? this.ctors.Error : this.ctors[type];
    const e = new ctor(message);
    if (type === "InternalError") Object.defineProperty(e, "type", { value: "InternalError", configurable: true, writable: true });
    return e;
  }
}

/** Thrown to the host when firmware code runs past the per-entry time limit (an infinite loop). */
export class BoardHang extends Error {
  constructor(where: string, limitMs: number) {
    super(`firmware did not return within ${limitMs} ms of host time while running ${where}: ` +
      `an infinite loop or a very long computation. A real board would hang (or the watchdog would reset it). ` +
      `Raise VirtualBoard option entryTimeoutMs only if the work is genuinely long.`);
    this.name = "BoardHang";
  }
}
