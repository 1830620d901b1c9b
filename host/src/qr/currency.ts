/**
 * ISO 4217 currencies and amounts in integer minor units. The set of valid alpha codes is the one
 * Node's ICU data knows (`Intl.supportedValuesOf("currency")`, current ISO 4217 codes); the number of
 * minor-unit digits comes from ISO 4217's own table below, because ICU's display digits differ for
 * some (ICU shows IQD and ISK without decimals for display, ISO gives IQD 3).
 */
const EXPONENT_NOT_2: Record<string, number> = {
  BIF: 0, CLP: 0, DJF: 0, GNF: 0, ISK: 0, JPY: 0, KMF: 0, KRW: 0, PYG: 0, RWF: 0, UGX: 0, UYI: 0,
  VND: 0, VUV: 0, XAF: 0, XOF: 0, XPF: 0,
  BHD: 3, IQD: 3, JOD: 3, KWD: 3, LYD: 3, OMR: 3, TND: 3,
  CLF: 4, UYW: 4,
};
const KNOWN = new Set(Intl.supportedValuesOf("currency"));

/** Amounts fit in 6 bytes in the payment code and stay exact as JS numbers. */
export const MAX_AMOUNT_MINOR = 2 ** 48 - 1;

export class AmountError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AmountError";
  }
}

export function assertCurrency(code: unknown): asserts code is string {
  if (typeof code !== "string" || !/^[A-Z]{3}$/.test(code)) {
    throw new AmountError(`currency must be an ISO 4217 alpha code of three capital letters (e.g. "EUR"), got ${JSON.stringify(code)}`);
  }
  if (!KNOWN.has(code)) throw new AmountError(`"${code}" is not a current ISO 4217 currency code`);
}

export function minorUnitDigits(currency: string): number {
  assertCurrency(currency);
  return EXPONENT_NOT_2[currency] ?? 2;
}

export function assertAmountMinor(amount: unknown): asserts amount is number {
  if (typeof amount !== "number" || !Number.isSafeInteger(amount) || amount <= 0 || amount > MAX_AMOUNT_MINOR) {
    throw new AmountError(`amount must be a positive integer number of minor units up to ${MAX_AMOUNT_MINOR}, got ${JSON.stringify(amount)}`);
  }
}

/** "12.34" EUR → 1234. Exact decimal parsing (no floating point); more decimals than the currency has is an error. */
export function parseAmount(text: string, currency: string): number {
  const digits = minorUnitDigits(currency);
  const m = /^(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!m) throw new AmountError(`amount "${text}" is not a decimal number like 12.34`);
  const fraction = m[2] ?? "";
  if (fraction.length > digits) {
    throw new AmountError(`amount "${text}" has ${fraction.length} decimals but ${currency} has ${digits}`);
  }
  const minor = Number(m[1]! + fraction.padEnd(digits, "0"));
  assertAmountMinor(minor);
  return minor;
}

/** 1234 EUR → "12.34 EUR". */
export function formatAmount(minor: number, currency: string): string {
  const digits = minorUnitDigits(currency);
  const text = String(minor).padStart(digits + 1, "0");
  const whole = text.slice(0, text.length - digits);
  return `${digits ? `${whole}.${text.slice(text.length - digits)}` : whole} ${currency}`;
}
