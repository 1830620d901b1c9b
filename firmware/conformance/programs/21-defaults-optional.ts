// Checks default parameters, optional chaining (?.), nullish coalescing (??) and logical assignment (??= ||= &&=).
function frame(payload: string, type = 1, seq: number = type * 10): string {
  return type + "/" + seq + "/" + payload;
}
console.log(frame("a") + " " + frame("b", 2) + " " + frame("c", 3, 0) + " " + frame("d", undefined, 7));

interface Card {
  holder?: { name?: string; address?: { city: string } };
  limits?: number[];
  format?: () => string;
}
const full: Card = { holder: { name: "Ann", address: { city: "Oslo" } }, limits: [100, 200], format: () => "fmt" };
const empty: Card = {};
console.log("city " + full.holder?.address?.city + " / " + empty.holder?.address?.city);
console.log("limit " + full.limits?.[1] + " / " + empty.limits?.[1]);
console.log("call " + full.format?.() + " / " + empty.format?.());

const zero = 0;
const blank = "";
const nothing: string | null = null;
console.log("?? " + (zero ?? 5) + " " + JSON.stringify(blank ?? "x") + " " + (nothing ?? "default"));
console.log("|| " + (zero || 5) + " " + JSON.stringify(blank || "x"));

const settings: { retries?: number; name?: string; enabled?: boolean } = { name: "" };
settings.retries ??= 3;
settings.retries ??= 9;
settings.name ||= "unnamed";
settings.enabled = true;
settings.enabled &&= false;
console.log("assign " + settings.retries + " " + settings.name + " " + settings.enabled);

// ?. short-circuits: the argument is not evaluated when the callee is missing.
let evaluated = 0;
const none: { f?: (n: number) => number } = {};
none.f?.(evaluated++);
console.log("short-circuit evaluated " + evaluated);
