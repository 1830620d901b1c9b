// Finds regular-expression features Espruino 2v29 does not support (espruino-facts §1 "Regex").
// Supported: . [..] [^..] ranges \d\D\s\S\w\W \xHH ^ $ * +, up to 9 groups, top-level |, flags i g.
// Unsupported ones mostly fail silently (never match), so they must be build errors.

export interface RegexProblem { feature: string; why: string }

const MAX_GROUPS = 9;

export function findRegexProblems(pattern: string, flags: string): RegexProblem[] {
  const problems: RegexProblem[] = [];
  const seen = new Set<string>();
  const report = (feature: string, why: string): void => {
    if (seen.has(feature)) return;
    seen.add(feature);
    problems.push({ feature, why });
  };

  for (const flag of flags) {
    if (flag !== "i" && flag !== "g") report(`flag ${flag}`, "only the i and g flags exist (m is silently ignored)");
  }

  let depth = 0;
  let groups = 0;
  let inClass = false;
  // Whether the previous atom was a closing group (a quantifier would then apply to a group).
  let afterGroup = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === "\\") {
      const next = pattern[i + 1] ?? "";
      i++;
      afterGroup = false;
      if (inClass) continue;
      if (next === "b" || next === "B") report(`\\${next}`, "\\b means backspace on Espruino, not a word boundary");
      else if (next >= "1" && next <= "9") report("backreference", "a backreference throws on Espruino");
      else if (next === "k") report("named backreference", "named groups are not supported");
      else if (next === "p" || next === "P") report(`\\${next}{…}`, "unicode property escapes are not supported");
      continue;
    }
    if (inClass) {
      if (ch === "]") inClass = false;
      continue;
    }
    switch (ch) {
      case "[":
        inClass = true;
        afterGroup = false;
        break;
      case "(": {
        if (pattern[i + 1] === "?") {
          const rest = pattern.slice(i + 2, i + 4);
          if (rest.startsWith(":")) report("(?:", "non-capturing groups silently fail to match");
          else if (rest.startsWith("=") || rest.startsWith("!")) report("lookahead", "lookahead silently fails to match");
          else if (rest === "<=" || rest === "<!") report("lookbehind", "lookbehind silently fails to match");
          else if (rest.startsWith("<")) report("named group", "named groups silently fail to match");
          else report("(?", "group modifiers are not supported");
        } else {
          groups++;
        }
        depth++;
        afterGroup = false;
        break;
      }
      case ")":
        depth = Math.max(0, depth - 1);
        afterGroup = true;
        continue;
      case "|":
        if (depth > 0) report("| inside a group", "x(a|b)y splits at the | on Espruino");
        afterGroup = false;
        break;
      case "?": {
        const prev = pattern[i - 1];
        if (prev === "*" || prev === "+") report(`lazy ${prev}?`, "lazy quantifiers silently fail to match");
        else report("? quantifier", "the ? quantifier silently fails to match");
        if (afterGroup) report("quantified group", "a quantifier on a group silently fails to match");
        afterGroup = false;
        break;
      }
      case "{": {
        if (/^\{\d+(,\d*)?\}/.test(pattern.slice(i))) {
          report("{n,m} quantifier", "counted quantifiers silently fail to match");
          if (afterGroup) report("quantified group", "a quantifier on a group silently fails to match");
        }
        afterGroup = false;
        break;
      }
      case "*":
      case "+":
        if (afterGroup) report("quantified group", "a quantifier on a group silently fails to match");
        afterGroup = false;
        break;
      default:
        afterGroup = false;
    }
  }
  if (groups > MAX_GROUPS) report("more than 9 groups", `Espruino keeps at most ${MAX_GROUPS} capture groups (this has ${groups})`);
  return problems;
}
