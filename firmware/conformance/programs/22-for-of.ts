// Checks for-of over arrays and strings (lowered to indexed loops), with break/continue and nested loops.
const values = [3, 1, 4, 1, 5, 9, 2, 6];
let total = 0;
for (const v of values) total += v;
console.log("sum " + total);

let evens = "";
for (const v of values) {
  if (v % 2 !== 0) continue;
  evens += v + " ";
}
console.log("evens " + evens);

let untilNine = 0;
for (const v of values) {
  if (v === 9) break;
  untilNine++;
}
console.log("before nine " + untilNine);

let codes = "";
for (const ch of "KeyC") codes += ch.charCodeAt(0) + ".";
console.log("codes " + codes);

let reversed = "";
for (const ch of "abc\x01\xff") reversed = ch + reversed;
console.log("reversed length " + reversed.length + " first " + reversed.charCodeAt(0) + " last " + reversed.charAt(4));

const grid = [
  [1, 2],
  [3, 4],
  [5, 6],
];
let products = "";
for (const row of grid) {
  let p = 1;
  for (const cell of row) p *= cell;
  products += p + ",";
}
console.log("row products " + products);

const objs = [{ n: "a", v: 1 }, { n: "b", v: 2 }];
let names = "";
for (const { n, v } of objs) names += n + v;
console.log("destructured " + names);
