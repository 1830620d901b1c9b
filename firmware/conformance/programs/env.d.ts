// The globals conformance programs may use. console.log takes exactly one string: Espruino formats
// objects, arrays and floats differently from Node, so programs build every line themselves.
declare const console: { log(line: string): void };
declare function setTimeout(callback: (...args: any[]) => void, ms?: number, ...args: any[]): number;
declare function setInterval(callback: (...args: any[]) => void, ms?: number, ...args: any[]): number;
declare function clearTimeout(id: number): void;
declare function clearInterval(id: number): void;
