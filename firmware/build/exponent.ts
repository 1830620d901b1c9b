// Rewrites the exponent operator to the exact integer power helper before swc lowers it.
// Why: swc turns `a ** b` into Math.pow, and Espruino's Math.pow is exact only for integer
// exponents 0-9 (espruino-facts §1 Numbers, §2 finding 4). We chose rewriting over rejecting `**`:
// TypeScript code keeps the natural operator and gets Node's exact integer results.
// Edits never add or remove line breaks, so the stage-1 source map stays right line by line
// (columns on a rewritten line shift by the inserted text).
import { parse } from "acorn";
import { simple } from "acorn-walk";
import type { AssignmentExpression, BinaryExpression, Node } from "acorn";

export const POW_HELPER = "__kc_pow";
const POW_IMPORT = `import { ${POW_HELPER} } from "kc-polyfill:pow";`;

interface Edit { at: number; remove: number; insert: string }

export function rewriteExponent(code: string): { code: string; rewrites: number } {
  if (!code.includes("**")) return { code, rewrites: 0 };
  const ast = parse(code, { ecmaVersion: 2022, sourceType: "module", locations: true });
  const edits: Edit[] = [];
  simple(ast, {
    BinaryExpression(node: BinaryExpression) {
      if (node.operator !== "**") return;
      const op = operatorOffset(code, node.left.end, node.right.start, "**");
      edits.push({ at: node.start, remove: 0, insert: POW_HELPER + "(" });
      edits.push({ at: op, remove: 2, insert: "," });
      edits.push({ at: node.end, remove: 0, insert: ")" });
    },
    AssignmentExpression(node: AssignmentExpression) {
      if (node.operator !== "**=") return;
      const target = code.slice(node.left.start, node.left.end);
      if (!isRepeatableTarget(node.left)) {
        throw new Error(
          `compile: \`${target} **= …\` at bundle line ${node.loc?.start.line} cannot be rewritten safely; ` +
            "assign to a plain variable first (x = x ** y)",
        );
      }
      const op = operatorOffset(code, node.left.end, node.right.start, "**=");
      edits.push({ at: op, remove: 3, insert: `= ${POW_HELPER}(${target},` });
      edits.push({ at: node.end, remove: 0, insert: ")" });
    },
  });
  if (edits.length === 0) return { code, rewrites: 0 };
  let out = code;
  // Apply from the end so earlier offsets stay valid.
  edits.sort((a, b) => b.at - a.at);
  for (const e of edits) out = out.slice(0, e.at) + e.insert + out.slice(e.at + e.remove);
  return { code: POW_IMPORT + out, rewrites: edits.filter((e) => e.insert.startsWith(POW_HELPER + "(") || e.insert.startsWith("= ")).length };
}

function operatorOffset(code: string, from: number, to: number, operator: string): number {
  const at = code.indexOf(operator, from);
  if (at < 0 || at >= to) throw new Error(`compile: could not locate \`${operator}\` between offsets ${from} and ${to}`);
  return at;
}

// Reading the target twice must be side-effect free: a name, or a non-computed member of a name/this.
function isRepeatableTarget(node: Node): boolean {
  if (node.type === "Identifier") return true;
  if (node.type !== "MemberExpression") return false;
  const member = node as unknown as { object: Node; computed: boolean };
  return !member.computed && (member.object.type === "Identifier" || member.object.type === "ThisExpression");
}
