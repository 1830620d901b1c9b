export { encodeBase45, decodeBase45, Base45Error } from "./base45.ts";
export { parseAmount, formatAmount, minorUnitDigits, assertCurrency, assertAmountMinor, AmountError, MAX_AMOUNT_MINOR } from "./currency.ts";
export {
  signPaymentCode, parsePaymentCode, verifyPaymentCode, paymentCodeText, PaymentCodeError,
  CODE_BYTES, CODE_MAGIC, CODE_VERSION, MAC_BYTES, NONCE_BYTES, ORDER_REF_BYTES, QR_KEY_BYTES,
} from "./payload.ts";
export type { PaymentCodeFields, ParsedPaymentCode, PaymentCodeRejection } from "./payload.ts";
export { renderQrPng, renderQrTerminal, decodeQrImage, QrImageError } from "./image.ts";
export type { RenderOptions } from "./image.ts";
