// Checks destructuring: arrays, objects, nesting, defaults, renaming, swaps, rest elements and parameters.
const [first, second, , fourth = 40, fifth = 50] = [1, 2, 3, undefined];
console.log("array " + first + " " + second + " " + fourth + " " + fifth);

const { id, name: label, missing = "fallback" } = { id: 7, name: "seven" } as { id: number; name: string; missing?: string };
console.log("object " + id + " " + label + " " + missing);

const {
  outer: {
    inner: [x, y],
  },
} = { outer: { inner: [5, 6] } };
console.log("nested " + x + " " + y);

let p = 1;
let q = 2;
[p, q] = [q, p];
console.log("swap " + p + " " + q);

const [head, ...tail] = [9, 8, 7];
console.log("array rest " + head + " | " + tail.join(","));

const { kind, ...restOfObject } = { kind: "frame", len: 4, seq: 2 };
console.log("object rest " + kind + " | " + Object.keys(restOfObject).join(",") + " " + restOfObject.len + " " + restOfObject.seq);

function area({ w, h = 2 }: { w: number; h?: number }): number {
  return w * h;
}
console.log("param destructuring " + area({ w: 3 }) + " " + area({ w: 3, h: 5 }));

const pairs: Array<[string, number]> = [
  ["a", 1],
  ["b", 2],
];
let line = "";
for (let i = 0; i < pairs.length; i++) {
  const [k, v] = pairs[i];
  line += k + "=" + v + ";";
}
console.log("pairs " + line);
