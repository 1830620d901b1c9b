// Which polyfills (firmware/build/polyfills/<name>.js) a bundle needs, found by AST on ES5 code.
import { parse } from "acorn";
import { simple } from "acorn-walk";
import type { Identifier, MemberExpression } from "acorn";
import { POW_HELPER } from "./exponent.ts";

/** Every polyfill the pipeline can prepend, in prepend order. "pow" is the exact `**` helper. */
export const POLYFILL_NAMES = [
  "Array.from", "Array.of", "Object.freeze", "Object.is", "Number.isInteger", "Math.imul", "Math.trunc", "Math.clz32", "pow",
] as const;

const STATIC_POLYFILLS = new Set<string>(POLYFILL_NAMES.filter((n) => n.includes(".")));

/** `Global.member` path of a non-computed (or string-literal computed) member on a plain name. */
export function staticMemberPath(node: MemberExpression): string | undefined {
  if (node.object.type !== "Identifier") return undefined;
  const prop = node.property;
  let name: string | undefined;
  if (!node.computed && prop.type === "Identifier") name = prop.name;
  else if (node.computed && prop.type === "Literal" && typeof prop.value === "string") name = prop.value;
  return name === undefined ? undefined : `${node.object.name}.${name}`;
}

export function detectPolyfills(es5Code: string): string[] {
  const ast = parse(es5Code, { ecmaVersion: 5, sourceType: "script" });
  const used = new Set<string>();
  simple(ast, {
    MemberExpression(node: MemberExpression) {
      const p = staticMemberPath(node);
      if (p !== undefined && STATIC_POLYFILLS.has(p)) used.add(p);
    },
    Identifier(node: Identifier) {
      if (node.name === POW_HELPER) used.add("pow");
    },
  });
  return POLYFILL_NAMES.filter((n) => used.has(n));
}
