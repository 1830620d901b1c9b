// Checks numeric enums (auto-increment, explicit values, reverse mapping) and string enums.
enum Command {
  Ping,
  Sign = 5,
  Verify,
  Wipe = 0x20,
}

enum Status {
  Ok = "OK",
  Locked = "LOCKED",
  Wiped = "WIPED",
}

function commandName(c: Command): string {
  return Command[c];
}

console.log("Ping=" + Command.Ping + " Sign=" + Command.Sign + " Verify=" + Command.Verify + " Wipe=" + Command.Wipe);
console.log("names " + commandName(Command.Ping) + "," + commandName(6) + "," + commandName(32));
console.log("unknown is undefined: " + (Command[7] === undefined));
console.log("status " + Status.Ok + " " + Status.Locked + " " + Status.Wiped);

function statusAfter(attempts: number): Status {
  if (attempts >= 10) return Status.Wiped;
  if (attempts >= 3) return Status.Locked;
  return Status.Ok;
}
let line = "";
const tries = [0, 2, 3, 9, 10];
for (let i = 0; i < tries.length; i++) line += tries[i] + ":" + statusAfter(tries[i]) + " ";
console.log(line);

switch (statusAfter(4)) {
  case Status.Ok:
    console.log("switch ok");
    break;
  case Status.Locked:
    console.log("switch locked");
    break;
  default:
    console.log("switch other");
}
