// Checks string methods present on Espruino: padStart, repeat, startsWith, endsWith, split, indexOf, slice, substr, case.
const pan = "4111111111111111";
console.log("masked " + "*".repeat(pan.length - 4) + pan.slice(-4));
console.log("padStart " + "7".padStart(3, "0") + " " + "1234".padStart(3, "0") + " padEnd " + "ab".padEnd(4, "-") + "|");
console.log("startsWith " + pan.startsWith("4111") + " " + pan.startsWith("5") + " endsWith " + pan.endsWith("1111") + " " + "file.json".endsWith(".js"));
console.log("split " + "a,b,,c".split(",").length + " " + "a,b,,c".split(",").join("|") + " chars " + "xyz".split("").join("."));
console.log("indexOf " + "hello world".indexOf("o") + " " + "hello world".indexOf("o", 5) + " " + "hello".indexOf("z") + " lastIndexOf " + "hello".lastIndexOf("l"));
console.log("slice " + "keycarrier".slice(3) + " " + "keycarrier".slice(3, 5) + " " + "keycarrier".slice(-4));
console.log("substr " + "keycarrier".substr(3, 3) + " substring " + "keycarrier".substring(5, 3));
console.log("case " + "Pay".toUpperCase() + " " + "PAY".toLowerCase());
console.log("trim [" + "  spaced  ".trim() + "] includes " + "merchant".includes("chan"));
console.log("charAt " + "abc".charAt(1) + " empty charAt [" + "abc".charAt(9) + "]");
console.log("replace " + "a-b-c".replace("-", "+") + " concat " + "x".concat("y", "z"));

function parseKeyValues(text: string): string {
  const parts = text.split(";");
  let out = "";
  for (let i = 0; i < parts.length; i++) {
    const eq = parts[i].indexOf("=");
    if (eq < 0) continue;
    out += parts[i].substr(0, eq).toUpperCase() + "->" + parts[i].slice(eq + 1) + " ";
  }
  return out;
}
console.log("kv " + parseKeyValues("amt=100;cur=EUR;junk;mid=42"));
console.log("number to string " + (255).toString(16) + " " + (255).toString(2) + " " + String(-42) + " parseInt " + parseInt("ff", 16) + " " + parseInt("0042", 10));
