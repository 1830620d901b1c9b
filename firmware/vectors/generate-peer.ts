// Regenerates firmware/vectors/peer.json (PROTOCOL.md §12, docs/PEER.md: the peer payment's request,
// instruction, seal and wire bodies) from the layouts of the document alone, with node:crypto and
// hand-written CBOR heads; nothing is imported from the firmware or the host.
// Run: npx tsx firmware/vectors/generate-peer.ts
import { createCipheriv, createHash, createHmac } from "node:crypto";
import { writeFileSync } from "node:fs";

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const ascii = (s: string): Buffer => Buffer.from(s, "latin1");
const u8 = (n: number): Buffer => Buffer.from([n]);
const u32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };
const u64 = (n: number): Buffer => { const b = Buffer.alloc(8); b.writeUInt32BE(Math.floor(n / 2 ** 32)); b.writeUInt32BE(n % 2 ** 32, 4); return b; };
const hmac = (k: Uint8Array, m: Uint8Array): Buffer => createHmac("sha256", k).update(m).digest();
const sha256 = (m: Uint8Array): Buffer => createHash("sha256").update(m).digest();
function ctr0(key: Uint8Array, data: Uint8Array): Buffer {
  const c = createCipheriv("aes-128-ctr", key, Buffer.alloc(16));
  return Buffer.concat([c.update(data), c.final()]);
}

// CBOR heads of the canonical subset (PROTOCOL.md §5): shortest argument.
function head(major: number, n: number): Buffer {
  const m = major << 5;
  if (n < 24) return u8(m | n);
  if (n < 256) return Buffer.from([m | 24, n]);
  if (n < 65536) return Buffer.from([m | 25, n >> 8, n & 255]);
  if (n < 2 ** 32) return Buffer.concat([u8(m | 26), u32(n)]);
  return Buffer.concat([u8(m | 27), u64(n)]);
}
const uint = (n: number): Buffer => head(0, n);
const bstr = (b: Uint8Array): Buffer => Buffer.concat([head(2, b.length), b]);
const tstr = (s: string): Buffer => Buffer.concat([head(3, s.length), ascii(s)]);
const map = (entries: Array<[number, Buffer]>): Buffer => Buffer.concat([head(5, entries.length), ...entries.flatMap(([k, v]) => [uint(k), v])]);

const PEER_KEY_LABEL = "KeyCarrier v1 peer key";
const KIND_REQUEST = 1;
const KIND_INSTRUCTION = 2;

function peerKey(kac: Uint8Array): Buffer {
  return hmac(kac, ascii(PEER_KEY_LABEL));
}

function requestBytes(payee: Uint8Array, amount: number, currency: string, expiry: number, nonce: Uint8Array): Buffer {
  return Buffer.concat([ascii("KCPR"), u8(1), u8(payee.length), payee, u64(amount), ascii(currency), u32(expiry), nonce]);
}

function instructionBytes(payer: Uint8Array, digest: Uint8Array, amount: number, currency: string, atc: number): Buffer {
  return Buffer.concat([ascii("KCPI"), u8(1), u8(payer.length), payer, digest, u64(amount), ascii(currency), u32(atc)]);
}

function seal(kpeer: Uint8Array, kind: number, cid: Uint8Array, id: Uint8Array, plain: Uint8Array) {
  const header = Buffer.concat([ascii("KCPS"), u8(1), u8(kind), u8(cid.length), cid, u8(id.length), id]);
  const kmsg = hmac(kpeer, Buffer.concat([u8(1), header])).subarray(0, 16);
  const c = ctr0(kmsg, plain);
  const tag = hmac(kpeer, Buffer.concat([u8(2), header, c])).subarray(0, 16);
  return { header, kmsg, sealed: Buffer.concat([header, c, tag]) };
}

// Two carriers of one issuer: K_ac = HMAC(IMK, "KeyCarrier v1 cryptogram" ‖ 00 ‖ len ‖ cid) (docs/CHANNEL.md §2).
const imk = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
const cryptogramKey = (cid: Uint8Array): Buffer => hmac(imk, Buffer.concat([ascii("KeyCarrier v1 cryptogram"), u8(0), u8(cid.length), cid]));
const payee = Buffer.from("a1a2a3a4a5a6a7a8", "hex");
const payer = Buffer.from("b1b2b3b4b5b6b7b8", "hex");
const payeeKac = cryptogramKey(payee);
const payerKac = cryptogramKey(payer);

const requests = [
  { amount: 1250, currency: "EUR", expiry: 1_800_000_000, nonce: Buffer.from("000102030405060708090a0b0c0d0e0f", "hex") },
  { amount: 9_007_199_254_740_991, currency: "JPY", expiry: 4_294_967_295, nonce: Buffer.from("f0e1d2c3b4a5968778695a4b3c2d1e0f", "hex") },
].map((r) => {
  const bytes = requestBytes(payee, r.amount, r.currency, r.expiry, r.nonce);
  const s = seal(peerKey(payeeKac), KIND_REQUEST, payee, r.nonce, bytes);
  return {
    payeeId: hex(payee), amount: r.amount, currency: r.currency, expiry: r.expiry, nonce: hex(r.nonce),
    request: hex(bytes), digest: hex(sha256(bytes)), header: hex(s.header), messageKey: hex(s.kmsg), sealed: hex(s.sealed),
  };
});

const instructions = [{ req: requests[0]!, atc: 7 }, { req: requests[1]!, atc: 4_294_967_295 }].map(({ req, atc }) => {
  const digest = Buffer.from(req.digest, "hex");
  const bytes = instructionBytes(payer, digest, req.amount, req.currency, atc);
  const s = seal(peerKey(payerKac), KIND_INSTRUCTION, payer, u32(atc), bytes);
  return {
    payerId: hex(payer), digest: req.digest, amount: req.amount, currency: req.currency, atc,
    instruction: hex(bytes), header: hex(s.header), messageKey: hex(s.kmsg), sealed: hex(s.sealed),
  };
});

const r0 = requests[0]!;
const i0 = instructions[0]!;
const logHead = Buffer.alloc(32, 0x11);
const wire = {
  peerRequest: {
    command: 0x58,
    request: hex(map([[1, uint(r0.amount)], [2, tstr(r0.currency)], [3, uint(r0.expiry)]])),
    reply: hex(map([[1, bstr(Buffer.from(r0.request, "hex"))], [2, bstr(Buffer.from(r0.sealed, "hex"))]])),
  },
  peerPay: {
    command: 0x59,
    request: hex(map([[1, bstr(Buffer.from(r0.request, "hex"))]])),
    replyLogHead: hex(logHead),
    reply: hex(map([[1, uint(i0.atc)], [2, bstr(Buffer.from(i0.sealed, "hex"))], [3, bstr(logHead)]])),
  },
};

// Malformed requests a payer's carrier must refuse with PEER_BAD_REQUEST (0x59), each from request 0.
const good = Buffer.from(r0.request, "hex");
const badRequests = [
  { why: "magic", request: hex(Buffer.concat([ascii("KCPX"), good.subarray(4)])) },
  { why: "format version", request: hex(Buffer.concat([good.subarray(0, 4), u8(2), good.subarray(5)])) },
  { why: "one byte short", request: hex(good.subarray(0, good.length - 1)) },
  { why: "one byte long", request: hex(Buffer.concat([good, u8(0)])) },
  { why: "payee id length 3", request: hex(requestBytes(payee.subarray(0, 3), 1250, "EUR", 1_800_000_000, Buffer.from(r0.nonce, "hex"))) },
  { why: "payee id length 17", request: hex(requestBytes(Buffer.alloc(17, 0xa1), 1250, "EUR", 1_800_000_000, Buffer.from(r0.nonce, "hex"))) },
  { why: "currency lower case", request: hex(requestBytes(payee, 1250, "eur", 1_800_000_000, Buffer.from(r0.nonce, "hex"))) },
  { why: "amount 0", request: hex(requestBytes(payee, 0, "EUR", 1_800_000_000, Buffer.from(r0.nonce, "hex"))) },
  { why: "amount 2^53", request: hex(Buffer.concat([good.subarray(0, 14), u64(2 ** 53), good.subarray(22)])) },
];

const out = {
  description: "Peer payment (PROTOCOL.md §12, docs/PEER.md): K_peer = HMAC(K_ac, \"KeyCarrier v1 peer key\"); request R and instruction I layouts; seal = header ‖ AES-128-CTR(K_msg, P) ‖ HMAC(K_peer, 02 ‖ header ‖ C)[0:16] with K_msg = HMAC(K_peer, 01 ‖ header)[0:16]; CBOR bodies of PEER_REQUEST (0x58) and PEER_PAY (0x59). Generated by firmware/vectors/generate-peer.ts with node:crypto alone.",
  keys: {
    issuerMasterKey: hex(imk),
    payee: { carrierId: hex(payee), cryptogramKey: hex(payeeKac), peerKey: hex(peerKey(payeeKac)) },
    payer: { carrierId: hex(payer), cryptogramKey: hex(payerKac), peerKey: hex(peerKey(payerKac)) },
  },
  requests,
  instructions,
  wire,
  badRequests,
};
writeFileSync(new URL("./peer.json", import.meta.url), JSON.stringify(out, null, 2) + "\n");
console.log("wrote firmware/vectors/peer.json");
