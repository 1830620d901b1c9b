// Checks exceptions: custom error classes with a numeric `code`, rethrow, and try/catch/finally ordering.
import { CodedError, ErrorCode } from "./lib/errors.ts";

class PinError extends CodedError {
  constructor(readonly triesLeft: number) {
    super(ErrorCode.Closed + 100, "wrong PIN, " + triesLeft + " tries left");
  }
}

function check(pin: string, tries: number): string {
  if (pin.length !== 4) throw new CodedError(ErrorCode.BadLength, "PIN must have 4 digits");
  if (pin !== "1234") throw new PinError(tries - 1);
  return "accepted";
}

function attempt(pin: string): string {
  const steps: string[] = [];
  try {
    steps.push("try");
    steps.push(check(pin, 3));
  } catch (e) {
    const err = e as CodedError;
    if (err instanceof PinError) steps.push("pin-error code=" + err.code + " left=" + err.triesLeft);
    else steps.push("error code=" + err.code);
    steps.push("msg=" + err.message);
  } finally {
    steps.push("finally");
  }
  return steps.join(" | ");
}

console.log(attempt("1234"));
console.log(attempt("0000"));
console.log(attempt("12"));

// finally runs before the value of `return` inside try reaches the caller.
const order: string[] = [];
function returnsFromTry(): string {
  try {
    order.push("body");
    return "result";
  } finally {
    order.push("finally");
  }
}
const got = returnsFromTry();
order.push("caller got " + got);
console.log(order.join(", "));

// Rethrow from a catch passes through an outer handler; finally blocks run inside-out.
const trail: string[] = [];
try {
  try {
    throw new CodedError(ErrorCode.Overflow, "inner");
  } catch (e) {
    trail.push("inner catch " + (e as CodedError).code);
    throw e;
  } finally {
    trail.push("inner finally");
  }
} catch (e) {
  trail.push("outer catch " + (e as CodedError).message);
} finally {
  trail.push("outer finally");
}
console.log(trail.join(", "));

// Engine errors are caught too; only that something was thrown is checked (messages differ per engine).
let caught = false;
try {
  const missing: any = null;
  missing.field = 1;
} catch {
  caught = true;
}
console.log("engine error caught " + caught);

// Plain-object errors with a code field work without any Error machinery.
function fail(): never {
  throw { code: 42, reason: "plain" };
}
try {
  fail();
} catch (e) {
  const o = e as { code: number; reason: string };
  console.log("plain object code " + o.code + " reason " + o.reason);
}
