// `npx tsx firmware/test/security/generate-online-pin-vectors.ts > firmware/vectors/online-pin.json`:
// the online-PIN vectors (PROTOCOL.md §7.5, docs/CHANNEL.md §8, docs/PLATFORM.md "Online PIN"),
// computed with node:crypto only — an implementation independent of the host's @noble code and of
// the firmware's — so the tests that read them cross-check both.
import { createCipheriv, createHash, createHmac, createPrivateKey, createPublicKey, diffieHellman, hkdfSync } from "node:crypto";

const hex = (b: Buffer | Uint8Array) => Buffer.from(b).toString("hex");
const h = (s: string) => Buffer.from(s, "hex");
const sha = (label: string) => createHash("sha256").update(label).digest();

// X25519 keys from raw 32-byte scalars, through PKCS#8 / SPKI DER (node:crypto has no raw import).
const PKCS8_PREFIX = h("302e020100300506032b656e04220420");
const SPKI_PREFIX = h("302a300506032b656e032100");
function x25519Private(raw: Buffer) { return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, raw]), format: "der", type: "pkcs8" }); }
function x25519PublicRaw(raw: Buffer): Buffer { return Buffer.from(createPublicKey(x25519Private(raw)).export({ format: "der", type: "spki" })).subarray(SPKI_PREFIX.length); }
function x25519Shared(priv: Buffer, pubRaw: Buffer): Buffer {
  return diffieHellman({ privateKey: x25519Private(priv), publicKey: createPublicKey({ key: Buffer.concat([SPKI_PREFIX, pubRaw]), format: "der", type: "spki" }) });
}

// merchantName (format 2, a carrier with a screen): the name's bytes as PAY field 0 carries them
function verdictCase(name: string, f: { cryptogramKey: Buffer; carrierId: Buffer; sessionNonce: Buffer; requestCounter: number; orderId: Buffer; merchantId: Buffer; amount: number; currency: string; verdict: number; triesLeft: number; merchantName?: Buffer }) {
  const amount = Buffer.alloc(8);
  amount.writeBigUInt64BE(BigInt(f.amount));
  const counter = Buffer.alloc(4);
  counter.writeUInt32BE(f.requestCounter);
  const message = Buffer.concat([
    Buffer.from("KCPV"), Buffer.from([f.merchantName ? 2 : 1, f.carrierId.length]), f.carrierId, f.sessionNonce, counter,
    Buffer.from([f.orderId.length]), f.orderId, Buffer.from([f.merchantId.length]), f.merchantId, amount, Buffer.from(f.currency), Buffer.from([f.verdict, f.triesLeft]),
    f.merchantName ? Buffer.concat([Buffer.from([f.merchantName.length]), f.merchantName]) : Buffer.alloc(0),
  ]);
  const verdictKey = createHmac("sha256", f.cryptogramKey).update("KeyCarrier v1 PIN verdict key").digest();
  const mac = createHmac("sha256", verdictKey).update(message).digest().subarray(0, 16);
  return {
    case: name, cryptogramKey: hex(f.cryptogramKey), verdictKey: hex(verdictKey), carrierId: hex(f.carrierId), sessionNonce: hex(f.sessionNonce),
    requestCounter: f.requestCounter, orderId: hex(f.orderId), merchantId: hex(f.merchantId), amount: f.amount, currency: f.currency,
    verdict: f.verdict, triesLeft: f.triesLeft, ...(f.merchantName ? { merchantName: hex(f.merchantName) } : {}), message: hex(message), mac: hex(mac),
  };
}

function pinBlockCase(name: string, c: { pin: string; purpose: number; carrierId: Buffer; orderId: Buffer; challenge: Buffer; platformPrivate: Buffer; ephemeralPrivate: Buffer; filler: Buffer }) {
  const platformPublic = x25519PublicRaw(c.platformPrivate);
  const ephemeralPublic = x25519PublicRaw(c.ephemeralPrivate);
  const shared = x25519Shared(c.ephemeralPrivate, platformPublic);
  const key = Buffer.from(hkdfSync("sha256", shared, Buffer.concat([ephemeralPublic, platformPublic]), Buffer.from("KeyCarrier v1 PIN block"), 32));
  const aad = Buffer.concat([Buffer.from("KCPB1"), Buffer.from([c.purpose, c.carrierId.length]), c.carrierId, Buffer.from([c.orderId.length]), c.orderId, c.challenge]);
  const plain = Buffer.from(c.filler.subarray(0, 16));
  plain[0] = c.pin.length;
  Buffer.from(c.pin).copy(plain, 1);
  const cipher = createCipheriv("chacha20-poly1305", key, Buffer.alloc(12), { authTagLength: 16 });
  cipher.setAAD(aad, { plaintextLength: plain.length });
  const ct = Buffer.concat([cipher.update(plain), cipher.final()]);
  const block = Buffer.concat([Buffer.from([1]), ephemeralPublic, ct, cipher.getAuthTag()]);
  return {
    case: name, pin: c.pin, purpose: c.purpose, carrierId: hex(c.carrierId), orderId: hex(c.orderId), challenge: hex(c.challenge),
    platformPrivate: hex(c.platformPrivate), platformPublic: hex(platformPublic), ephemeralPrivate: hex(c.ephemeralPrivate), ephemeralPublic: hex(ephemeralPublic),
    filler: hex(c.filler), plaintext: hex(plain), aad: hex(aad), sharedSecret: hex(shared), key: hex(key), block: hex(block),
  };
}

const cryptogramKey = sha("vector K_ac");
const carrierId = h("0123456789abcdef");
const orderId = h("00112233445566778899aabb");
const merchantId = h("00000001");
const sessionNonce = sha("vector carrier nonce").subarray(0, 16);
const base = { cryptogramKey, carrierId, sessionNonce, orderId, merchantId, amount: 1234, currency: "EUR" };
const platformPrivate = sha("vector platform PIN key");

// Canonical CBOR by hand (keys ascending, shortest heads): {0: name?, 1: oid, 2: mid, 3: amount, 4: currency, 5: verdict, 6: tries, 7: mac}.
function cborHead(major: number, n: number): Buffer {
  return n < 24 ? Buffer.from([(major << 5) | n]) : n < 256 ? Buffer.from([(major << 5) | 24, n]) : Buffer.from([(major << 5) | 25, n >> 8, n & 255]);
}
function payBodyCase(name: string, which: number, named: boolean) {
  const v = namedCases[which]!;
  const mac = h(named ? v.mac : verdictCase("", { ...base, requestCounter: v.requestCounter, verdict: v.verdict, triesLeft: v.triesLeft }).mac); // without: the format 1 MAC
  const name0 = h(v.merchantName!);
  const fields: Buffer[] = [
    ...(named ? [cborHead(0, 0), cborHead(2, name0.length), name0] : []),
    cborHead(0, 1), cborHead(2, orderId.length), orderId, cborHead(0, 2), cborHead(2, merchantId.length), merchantId,
    cborHead(0, 3), cborHead(0, base.amount), cborHead(0, 4), cborHead(3, 3), Buffer.from(base.currency),
    cborHead(0, 5), cborHead(0, v.verdict), cborHead(0, 6), cborHead(0, v.triesLeft), cborHead(0, 7), cborHead(2, 16), mac,
  ];
  return { case: name, verdictCase: v.case, named, mac: hex(mac), body: hex(Buffer.concat([Buffer.from([0xa0 | (named ? 8 : 7)]), ...fields])) };
}
// format 2: the merchant's name in the verdict (PAY field 0, a carrier with a screen): Latin-1 bytes
// (0xe9 "é"), a 42-byte name (the most; two screen lines) that the platform cut with 0x85 "…"
const namedCases = [
  verdictCase("OK with the merchant's name \"Corner Café\"", { ...base, requestCounter: 0, verdict: 0, triesLeft: 3, merchantName: Buffer.from("Corner Café", "latin1") }),
  verdictCase("WRONG, a 42-byte name cut by the platform", { ...base, requestCounter: 2, verdict: 1, triesLeft: 1, merchantName: Buffer.concat([Buffer.from("The Very Long Name of a Merchant Who Sell", "latin1"), Buffer.from([0x85])]) }),
];

const out = {
  description: "Online PIN vectors (PROTOCOL.md §7.5, docs/CHANNEL.md §8, docs/PLATFORM.md \"Online PIN\"). Generated by firmware/test/security/generate-online-pin-vectors.ts with node:crypto only; checked by firmware/test/security/verdict.test.ts (firmware layout and MAC, formats 1 and 2), firmware/test/applets/read-pay.test.ts (payBody: the carrier reads it), host/test/platform/online-pin.test.ts (host encryption, decryption, verdict formats 1 and 2) and host/test/flows/pay-body.test.ts (payBody: the host encodes it).",
  verdict: [
    verdictCase("OK, first request of the session", { ...base, requestCounter: 0, verdict: 0, triesLeft: 3 }),
    verdictCase("WRONG, 2 issuer tries left, request 1", { ...base, requestCounter: 1, verdict: 1, triesLeft: 2 }),
    verdictCase("BLOCKED, amount over 2^32", { ...base, requestCounter: 7, amount: 2 ** 40 + 5, verdict: 2, triesLeft: 0 }),
  ],
  // format 2: the merchant's name in the verdict (PAY field 0, a carrier with a screen): Latin-1 bytes
  // (0xe9 "é"), a 42-byte name (the most; two screen lines) that the platform cut with 0x85 "…"
  namedVerdict: namedCases,
  // PAY's request body (PROTOCOL.md §7.5) as the host encodes it and the carrier reads it: the
  // namedVerdict cases, with field 0 (a carrier with a screen) and without (LED-only).
  payBody: [
    payBodyCase("with field 0, the merchant's name", 0, true), payBodyCase("with field 0, a 42-byte name (2-byte head)", 1, true),
    payBodyCase("without a name (a carrier without a screen)", 0, false),
  ],
  pinBlock: [
    pinBlockCase("PAY, 6-digit PIN", { pin: "482913", purpose: 1, carrierId, orderId, challenge: sha("vector challenge 1").subarray(0, 16), platformPrivate, ephemeralPrivate: sha("vector ephemeral 1"), filler: sha("vector filler 1").subarray(0, 16) }),
    pinBlockCase("ENROL, 12-digit PIN, no order", { pin: "123456789012", purpose: 2, carrierId, orderId: Buffer.alloc(0), challenge: sha("vector challenge 2").subarray(0, 16), platformPrivate, ephemeralPrivate: sha("vector ephemeral 2"), filler: sha("vector filler 2").subarray(0, 16) }),
  ],
};
console.log(JSON.stringify(out, null, 2));
