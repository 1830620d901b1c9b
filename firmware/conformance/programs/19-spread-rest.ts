// Checks array spread, rest parameters, spread into calls, and object spread (all compiled away for Espruino).
function sum(...values: number[]): number {
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i];
  return total;
}

function tagged(tag: string, ...rest: number[]): string {
  return tag + ":" + rest.length + ":" + rest.join("/");
}

const a = [1, 2, 3];
const b = [10, 20];
const both = [...a, ...b, 99];
console.log("both " + both.join(","));
console.log("sum spread " + sum(...a) + " " + sum(...both) + " " + sum());
console.log(tagged("t") + " " + tagged("t", ...b, 5));
console.log("max via spread " + Math.max(...both));

const copy = [...a];
copy.push(4);
console.log("copy " + copy.join(",") + " original " + a.join(","));

const defaults = { retries: 3, verbose: false, name: "default" };
const overrides = { verbose: true, name: "custom" };
const merged = { ...defaults, ...overrides, extra: 1 };
console.log("merged " + merged.retries + " " + merged.verbose + " " + merged.name + " " + merged.extra);
console.log("defaults untouched " + defaults.name + " " + defaults.verbose);

// Rest parameters collect what is left after the fixed parameters.
function first(x: number, ...others: number[]): string {
  return x + " then " + others.length + " more";
}
console.log(first(1) + "; " + first(1, 2, 3));
