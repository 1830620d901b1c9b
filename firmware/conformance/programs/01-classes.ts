// Checks classes: constructors, instance fields with initialisers, methods, `this`, instanceof.
class Counter {
  count = 0;
  readonly label: string;
  constructor(label: string, start?: number) {
    this.label = label;
    if (start !== undefined) this.count = start;
  }
  increment(by: number): this {
    this.count += by;
    return this;
  }
  toText(): string {
    return this.label + "=" + this.count;
  }
}

class Point {
  constructor(public x: number, public y: number) {}
  add(other: Point): Point {
    return new Point(this.x + other.x, this.y + other.y);
  }
  manhattan(): number {
    return Math.abs(this.x) + Math.abs(this.y);
  }
}

const a = new Counter("a");
const b = new Counter("b", 10);
a.increment(1).increment(2);
b.increment(-3);
console.log(a.toText());
console.log(b.toText());
console.log("instanceof Counter: " + (a instanceof Counter) + " " + (b instanceof Counter));
console.log("Point instanceof Counter: " + (new Point(0, 0) instanceof Counter));

const p = new Point(3, -4).add(new Point(1, 1));
console.log("point " + p.x + "," + p.y + " manhattan " + p.manhattan());

// A method extracted from an instance keeps working when re-bound explicitly.
const bound = a.toText.bind(a);
console.log("bound " + bound());
console.log("typeof class " + typeof Counter);
