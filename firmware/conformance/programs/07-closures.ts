// Checks closures: private counters, factories, captured loop values, and an immediately invoked function.
function makeCounter(start: number, step: number) {
  let value = start;
  return {
    next(): number {
      value += step;
      return value;
    },
    reset(): void {
      value = start;
    },
  };
}

const byOne = makeCounter(0, 1);
const byTen = makeCounter(100, 10);
byOne.next();
byOne.next();
byTen.next();
console.log("byOne " + byOne.next() + " byTen " + byTen.next());
byOne.reset();
console.log("after reset " + byOne.next());

// Capture each loop value through a factory function, so no per-iteration binding is needed.
function constant(v: number): () => number {
  return () => v;
}
const getters: Array<() => number> = [];
for (let i = 0; i < 3; i++) getters.push(constant(i * i));
console.log("captured " + getters[0]() + "," + getters[1]() + "," + getters[2]());

// Direct capture of a `let` loop variable: the compiler must give each iteration its own binding
// (Espruino itself has no per-iteration binding and would print 3,3,3).
const direct: Array<() => number> = [];
for (let j = 0; j < 3; j++) direct.push(() => j);
console.log("direct " + direct[0]() + "," + direct[1]() + "," + direct[2]());

const idGen = (function () {
  let id = 0;
  return function (): string {
    id++;
    return "id" + id;
  };
})();
console.log(idGen() + " " + idGen() + " " + idGen());

// Closures sharing one environment.
function makeAccount(balance: number) {
  const deposit = (n: number) => {
    balance += n;
    return balance;
  };
  const withdraw = (n: number) => {
    if (n > balance) return -1;
    balance -= n;
    return balance;
  };
  return { deposit, withdraw };
}
const acct = makeAccount(50);
console.log("deposit " + acct.deposit(25) + " withdraw " + acct.withdraw(70) + " overdraw " + acct.withdraw(10));

// Arrow functions keep the enclosing `this`.
class Ticker {
  ticks = 0;
  runTimes(n: number): number {
    const bump = () => {
      this.ticks++;
    };
    for (let i = 0; i < n; i++) bump();
    return this.ticks;
  }
}
console.log("ticks " + new Ticker().runTimes(4));
