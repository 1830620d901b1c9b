// Checks Promise.all (order of results, first rejection), promise chaining and error propagation.
function delayed<T>(value: T, ms: number): Promise<T> {
  return new Promise((resolve) => setTimeout(() => resolve(value), ms));
}

function failing(code: number, ms: number): Promise<number> {
  return new Promise((_resolve, reject) => setTimeout(() => reject({ code }), ms));
}

Promise.all([delayed("a", 30), delayed("b", 10), "c", Promise.resolve("d")]).then((values) => {
  console.log("all: " + values.join(","));
});

Promise.all([delayed(1, 5), failing(7, 15), failing(9, 12)]).then(
  () => console.log("all with failure resolved?!"),
  (e: { code: number }) => console.log("all rejected with code " + e.code),
);

Promise.all([]).then((v: unknown[]) => console.log("empty all length " + v.length));

delayed(2, 40)
  .then((v) => delayed(v * 10, 5))
  .then((v) => {
    if (v > 10) throw { code: v };
    return v;
  })
  .then(
    () => console.log("not reached"),
    (e: { code: number }) => {
      console.log("chain rejected code " + e.code);
      return "recovered";
    },
  )
  .then((v) => console.log("chain continues: " + v));

// A thenable returned from then() is adopted.
Promise.resolve(3)
  .then((v) => Promise.resolve(v + 4))
  .then((v) => delayed(v * 2, 50))
  .then((v) => console.log("adopted " + v));
