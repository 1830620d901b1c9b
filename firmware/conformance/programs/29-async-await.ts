// Checks async/await (lowered to generator helpers): sequencing, try/catch/finally, awaiting timers and Promise.all.
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function readCounter(start: number): Promise<number> {
  await sleep(5);
  return start + 1;
}

async function failsWith(code: number): Promise<number> {
  await sleep(1);
  throw { code };
}

async function main(): Promise<string> {
  const log: string[] = [];
  const a = await readCounter(1);
  const b = await readCounter(a);
  log.push("sequence " + a + " " + b);

  try {
    await failsWith(17);
    log.push("not reached");
  } catch (e) {
    log.push("caught code " + (e as { code: number }).code);
  } finally {
    log.push("finally");
  }

  const all = await Promise.all([readCounter(10), readCounter(20), 5]);
  log.push("all " + all.join(","));

  let total = 0;
  for (let i = 0; i < 3; i++) total += await readCounter(i * 100);
  log.push("loop total " + total);

  const plain = await 42;
  log.push("await non-promise " + plain);
  return log.join("; ");
}

console.log("before main");
main().then(
  (summary) => console.log("main done: " + summary),
  (e) => console.log("main failed " + String(e)),
);
console.log("after main call (sync)");

// An async function that throws synchronously still returns a rejected promise.
async function rejectsImmediately(): Promise<void> {
  throw { code: 3 };
}
rejectsImmediately().catch((e: { code: number }) => console.log("async rejection code " + e.code));

// Timers interleave with awaited sleeps deterministically.
setTimeout(() => console.log("timer at 3ms"), 3);
setTimeout(() => console.log("timer at 100ms"), 100);
