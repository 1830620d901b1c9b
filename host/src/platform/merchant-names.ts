/**
 * Merchant names must identify the payee to a person reading them (issue 18): two names that look
 * alike are refused, not only two equal ones. The comparison key is a confusables skeleton in the
 * spirit of Unicode UTS #39 §4 (skeleton(X)): NFKC (compatibility forms: "ｆｕｌｌ" → "full",
 * "ﬁ" → "fi"), NFD with combining marks removed ("Café" → "cafe"), the cross-script table
 * (case-sensitive: Greek capital Η looks like H, small η like n), full case folding (approximated by
 * toUpperCase().toLowerCase(): "ß" → "ss"), the Latin table, then everything that is not a letter or
 * a digit dropped ("Corner-Café" → "cornercafe").
 *
 * Both tables are entries of Unicode's confusables.txt (https://www.unicode.org/Public/security/
 * latest/confusables.txt, type MA; e.g. "0430 ; 0061 ; MA # ( а → a ) CYRILLIC SMALL LETTER A →
 * LATIN SMALL LETTER A", "006D ; 0072 006E ; MA # ( m → rn )"), the common Latin look-alikes of
 * Cyrillic and Greek letters and the classic Latin ones — a small table, not the whole file:
 * other scripts are compared after NFKC and folding only. Conservative by choice after folding:
 * "i", "l", "1" and "|" are one letter (confusables.txt maps I, 1 and | to l) and "0" is "o".
 */
const CROSS_SCRIPT: Record<string, string> = {
  // Cyrillic small: а е о р с у х ѕ і ј һ ԁ ԛ ԝ ӏ ѵ ү г б
  "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ј": "j", "һ": "h",
  "ԁ": "d", "ԛ": "q", "ԝ": "w", "ӏ": "i", "ѵ": "v", "ү": "y", "г": "r", "б": "6",
  // Cyrillic capital: А В Е З К М Н О Р С Т У Х Ѕ І Ј Ӏ Ԝ Ү Ь
  "А": "A", "В": "B", "Е": "E", "З": "3", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T",
  "У": "Y", "Х": "X", "Ѕ": "S", "І": "l", "Ј": "J", "Ӏ": "l", "Ԝ": "W", "Ү": "Y", "Ь": "b",
  // Greek small: α ο ρ ν ι υ γ σ
  "α": "a", "ο": "o", "ρ": "p", "ν": "v", "ι": "i", "υ": "u", "γ": "y", "σ": "o",
  // Greek capital: Α Β Ε Ζ Η Ι Κ Μ Ν Ο Ρ Τ Υ Χ
  "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "l", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P",
  "Τ": "T", "Υ": "Y", "Χ": "X",
};
// After folding (confusables.txt: I, 1, | → l; 0 → O; m → rn; w → vv)
const LATIN: Record<string, string> = { "i": "l", "1": "l", "|": "l", "0": "o", "m": "rn", "w": "vv" };

/** The comparison key of a merchant name: equal keys = names a person could take for each other. */
export function merchantNameSkeleton(name: string): string {
  let mapped = "";
  for (const ch of name.normalize("NFKC").normalize("NFD").replace(/\p{M}/gu, "")) mapped += CROSS_SCRIPT[ch] ?? ch;
  let out = "";
  for (const ch of mapped.toUpperCase().toLowerCase()) out += LATIN[ch] ?? ch;
  return out.normalize("NFKC").replace(/[^\p{L}\p{N}]/gu, "");
}

/** The first of `existing` whose name a person could take for `name`, or undefined. */
export function confusableWith<T extends { name: string }>(name: string, existing: Iterable<T>): T | undefined {
  const key = merchantNameSkeleton(name);
  for (const m of existing) if (merchantNameSkeleton(m.name) === key) return m;
  return undefined;
}
