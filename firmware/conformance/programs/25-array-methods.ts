// Checks array methods present on Espruino: find, findIndex, includes, fill, some, every, reduce, map, filter, sort, etc.
interface Txn {
  id: number;
  amount: number;
  ok: boolean;
}
const txns: Txn[] = [
  { id: 4, amount: 300, ok: true },
  { id: 1, amount: 120, ok: false },
  { id: 3, amount: 999, ok: true },
  { id: 2, amount: 50, ok: true },
];

const found = txns.find((t) => t.amount > 200 && t.ok);
console.log("find " + (found ? found.id : "none") + " missing " + (txns.find((t) => t.amount > 5000) === undefined));
console.log("findIndex " + txns.findIndex((t) => !t.ok) + " " + txns.findIndex((t) => t.id === 9));
const ids = txns.map((t) => t.id);
console.log("map " + ids.join(","));
console.log("includes " + ids.includes(3) + " " + ids.includes(7));
console.log("filter " + txns.filter((t) => t.ok).map((t) => t.id).join(","));
console.log("some " + txns.some((t) => !t.ok) + " every " + txns.every((t) => t.amount > 10) + " " + txns.every((t) => t.ok));
console.log("reduce " + txns.reduce((acc, t) => acc + t.amount, 0) + " max " + txns.reduce((m, t) => (t.amount > m ? t.amount : m), 0));

const byId = txns.slice().sort((a, b) => a.id - b.id);
console.log("sort by id " + byId.map((t) => t.id).join(","));
const byAmountDesc = txns.slice().sort((a, b) => b.amount - a.amount);
console.log("sort by amount desc " + byAmountDesc.map((t) => t.amount).join(","));
console.log("original order kept " + txns.map((t) => t.id).join(","));

console.log("fill " + new Array(4).fill(0).join(","));
console.log("indexOf " + ids.indexOf(3) + " " + ids.indexOf(8));
console.log("concat " + [1, 2].concat([3], [4, 5]).join(","));
console.log("reverse " + [1, 2, 3].reverse().join(","));
const spliced = [1, 2, 3, 4, 5];
const removed = spliced.splice(1, 2, 9);
console.log("splice removed " + removed.join(",") + " left " + spliced.join(","));
let each = "";
["a", "b"].forEach((v, i) => (each += i + v));
console.log("forEach " + each);
console.log("isArray " + Array.isArray(ids) + " " + Array.isArray("ids"));
console.log("join default " + [1, 2].join() + " shift " + [7, 8].shift() + " pop " + [7, 8].pop());
