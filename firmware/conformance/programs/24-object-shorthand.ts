// Checks object literals: shorthand properties and methods, computed keys, Object.keys/assign, in, delete.
const version = 2;
const kind = "auth";
function makeMessage(seq: number) {
  return {
    version,
    kind,
    seq,
    describe() {
      return this.kind + "#" + this.seq + "@v" + this.version;
    },
  };
}
const m = makeMessage(5);
console.log(m.describe());
console.log("keys " + Object.keys(m).join(","));

const field = "amount";
const computed = { [field]: 100, ["prefix_" + kind]: true };
console.log("computed " + computed.amount + " " + computed.prefix_auth + " keys " + Object.keys(computed).join(","));

const target = { a: 1 };
const result = Object.assign(target, { b: 2 }, { a: 3, c: 4 });
console.log("assign same object " + (result === target) + " " + JSON.stringify(target));

const flags: { [k: string]: boolean } = { alpha: true, beta: false };
console.log("in " + ("alpha" in flags) + " " + ("gamma" in flags));
delete flags.alpha;
console.log("after delete " + ("alpha" in flags) + " keys " + Object.keys(flags).join(","));
console.log("hasOwnProperty " + flags.hasOwnProperty("beta") + " " + flags.hasOwnProperty("alpha"));

// Objects as string-keyed dictionaries (no Map on Espruino).
const counts: { [word: string]: number } = {};
const words = "pin ok pin fail pin ok".split(" ");
for (let i = 0; i < words.length; i++) counts[words[i]] = (counts[words[i]] || 0) + 1;
let summary = "";
const keys = Object.keys(counts);
for (let i = 0; i < keys.length; i++) summary += keys[i] + "=" + counts[keys[i]] + " ";
console.log("counts " + summary);
