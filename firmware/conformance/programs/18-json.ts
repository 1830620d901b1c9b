// Checks JSON round trips where Espruino and Node agree: plain objects, arrays, escaped strings, integers.
const record = { id: 7, name: "card \"A\"", tags: ["x", "y"], nested: { ok: true, none: null }, neg: -12 };
const text = JSON.stringify(record);
console.log(text);
const back = JSON.parse(text);
console.log("name " + back.name + " tags " + back.tags.length + " ok " + back.nested.ok + " none " + back.nested.none);
console.log("same text " + (JSON.stringify(back) === text));

console.log(JSON.stringify("tab\there\nnewline \\ slash"));
console.log(JSON.stringify([1, -2, 300000, 0, "s", false]));
console.log(JSON.stringify({}) + " " + JSON.stringify([]) + " " + JSON.stringify(""));

const parsed = JSON.parse('{"a":[1,2,{"b":"c"}],"d":"\\u0041\\n","e":-5,"f":1000000}');
console.log("a.length " + parsed.a.length + " a[2].b " + parsed.a[2].b + " d " + JSON.stringify(parsed.d) + " e " + parsed.e + " f " + parsed.f);

try {
  JSON.parse("{not json");
  console.log("bad json accepted");
} catch {
  console.log("bad json rejected");
}

// Keys keep insertion order for non-numeric keys.
const ordered: { [k: string]: number } = {};
ordered.zeta = 1;
ordered.alpha = 2;
ordered.mid = 3;
console.log(Object.keys(ordered).join(",") + " " + JSON.stringify(ordered));
