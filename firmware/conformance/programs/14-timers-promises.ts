// Checks ordering: synchronous code, then (on Espruino 2v29) every timer already due, then promise reactions as events; then longer timers.
// Node runs the reactions first (14-timers-promises.node.expected.txt); the board order was measured on 2v29 (Linux build).
// Timers that must fire in order are at least 5 ms apart so a slow board keeps the same order.
const log: string[] = [];

setTimeout(() => {
  log.push("timeout 0 (first)");
  Promise.resolve().then(() => log.push("then inside timeout 0"));
}, 0);
setTimeout(() => log.push("timeout 0 (second)"), 0);
setTimeout(() => log.push("timeout 25"), 25);
setTimeout(() => log.push("timeout 5"), 5);
const cancelled = setTimeout(() => log.push("cancelled timeout ran"), 1);
// Ids are guarded before clearing: clearTimeout(undefined) throws on Espruino (the gate enforces this).
if (cancelled !== undefined) clearTimeout(cancelled);

Promise.resolve(1)
  .then((v) => {
    log.push("then " + v);
    return v + 1;
  })
  .then((v) => log.push("then " + v));
new Promise<string>((resolve) => {
  log.push("executor runs synchronously");
  resolve("ok");
}).then((v) => log.push("resolved " + v));
Promise.reject(new Error("nope"))
  .catch((e: Error) => log.push("caught " + e.message))
  .then(() => log.push("after catch"));

let ticks = 0;
const interval = setInterval(() => {
  ticks++;
  log.push("interval " + ticks);
  if (ticks === 3 && interval !== undefined) clearInterval(interval);
}, 10);

setTimeout((a: string, b: number) => log.push("timeout args " + a + " " + b), 45, "x", 2);

log.push("sync end");

setTimeout(() => {
  for (let i = 0; i < log.length; i++) console.log(i + ": " + log[i]);
}, 100);
