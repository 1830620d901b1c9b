// Checks class getters/setters (validation in a setter) and getters/setters on object literals.
class Temperature {
  private tenths = 0;
  get celsiusTenths(): number {
    return this.tenths;
  }
  set celsiusTenths(value: number) {
    if (value < -2730) throw new Error("below absolute zero: " + value);
    this.tenths = value | 0;
  }
  get fahrenheitTenths(): number {
    return ((this.tenths * 9) / 5 + 320) | 0;
  }
}

const t = new Temperature();
t.celsiusTenths = 215;
console.log("C*10=" + t.celsiusTenths + " F*10=" + t.fahrenheitTenths);
t.celsiusTenths = -400;
console.log("C*10=" + t.celsiusTenths + " F*10=" + t.fahrenheitTenths);
try {
  t.celsiusTenths = -5000;
} catch (e) {
  console.log("rejected: " + (e as Error).message);
}
console.log("still C*10=" + t.celsiusTenths);

let writes = 0;
const box = {
  stored: 7,
  get doubled(): number {
    return this.stored * 2;
  },
  set doubled(v: number) {
    writes++;
    this.stored = v / 2;
  },
};
console.log("doubled " + box.doubled);
box.doubled = 30;
console.log("stored " + box.stored + " doubled " + box.doubled + " writes " + writes);
