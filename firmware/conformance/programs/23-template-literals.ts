// Checks template literals: interpolation of numbers/strings/expressions, nesting, multi-line text, escapes.
const amount = 1250;
const currency = "EUR";
const merchant = { name: "Cafe", id: 42 };

console.log(`pay ${amount / 100 | 0}.${String(amount % 100).padStart(2, "0")} ${currency} to ${merchant.name}#${merchant.id}`);
console.log(`nested ${`inner ${amount > 1000 ? "big" : "small"}`} done`);
console.log(`calc ${1 + 2 * 3} ${[1, 2, 3].join("-")} ${"x".repeat(3)}`);
const multi = `line one
line two`;
console.log("multi-line parts " + multi.split("\n").length + ": " + multi.split("\n")[1]);
console.log(`escapes \`tick\` \${not} \\ tab[\t]`);
console.log(`empty ${""}|${"" + 0}|`);

function receipt(items: Array<{ name: string; cents: number }>): string {
  let out = "";
  for (let i = 0; i < items.length; i++) out += `${i + 1}. ${items[i].name.padEnd(6, ".")}${String(items[i].cents).padStart(5, " ")}\n`;
  return out;
}
const text = receipt([
  { name: "tea", cents: 250 },
  { name: "cake", cents: 1200 },
]);
const lines = text.split("\n");
for (let i = 0; i < lines.length - 1; i++) console.log("[" + lines[i] + "]");
