// Checks TypeScript-only features that must compile away cleanly: generics, interfaces, abstract classes, type guards, as const.
interface Shape {
  area(): number;
  readonly label: string;
}

abstract class Base implements Shape {
  abstract area(): number;
  constructor(readonly label: string) {}
  summary(): string {
    return this.label + " area " + this.area();
  }
}

class Rect extends Base {
  constructor(private w: number, private h: number) {
    super("rect");
  }
  area(): number {
    return this.w * this.h;
  }
}

class Square extends Rect {
  constructor(side: number) {
    super(side, side);
  }
}

class Stack<T> {
  private items: T[] = [];
  push(item: T): number {
    return this.items.push(item);
  }
  pop(): T | undefined {
    return this.items.pop();
  }
  peek(): T | undefined {
    return this.items[this.items.length - 1];
  }
  get size(): number {
    return this.items.length;
  }
}

function firstOr<T>(items: readonly T[], fallback: T): T {
  return items.length > 0 ? items[0] : fallback;
}

type Reply = { ok: true; value: number } | { ok: false; error: string };
function isOk(r: Reply): r is { ok: true; value: number } {
  return r.ok;
}

const shapes: Shape[] = [new Rect(2, 3), new Square(4)];
for (let i = 0; i < shapes.length; i++) console.log((shapes[i] as Base).summary());
console.log("square is Rect " + (shapes[1] instanceof Rect) + ", label " + shapes[1].label);

const stack = new Stack<string>();
stack.push("a");
stack.push("b");
console.log("stack size " + stack.size + " peek " + stack.peek() + " pop " + stack.pop() + " size " + stack.size);
console.log("firstOr " + firstOr([7, 8], 0) + " " + firstOr<number>([], -1));

const replies: Reply[] = [{ ok: true, value: 5 }, { ok: false, error: "denied" }];
for (let i = 0; i < replies.length; i++) {
  const r = replies[i];
  console.log(isOk(r) ? "ok " + r.value : "error " + r.error);
}

const LIMITS = { daily: 500, single: 200 } as const;
const key: keyof typeof LIMITS = "single";
console.log("limit " + LIMITS[key] + " non-null " + (replies[0]! as { ok: true; value: number }).value);

let unknownValue: unknown = "text";
if (typeof unknownValue === "string") console.log("narrowed length " + unknownValue.length);
unknownValue = 12;
console.log("typeof number " + typeof unknownValue);
