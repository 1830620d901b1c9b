// Checks a small table-driven state machine (a PIN-guarded session) with enum states and event dispatch.
enum State {
  Idle = "idle",
  AwaitPin = "await-pin",
  Ready = "ready",
  Locked = "locked",
}

type Event = { kind: "start" } | { kind: "pin"; pin: string } | { kind: "sign"; amount: number } | { kind: "end" };

class Session {
  state: State = State.Idle;
  triesLeft = 3;
  signed = 0;
  readonly journal: string[] = [];

  constructor(private readonly correctPin: string) {}

  handle(ev: Event): void {
    const before = this.state;
    this.state = this.next(ev);
    this.journal.push(before + " --" + ev.kind + "--> " + this.state);
  }

  private next(ev: Event): State {
    switch (this.state) {
      case State.Idle:
        return ev.kind === "start" ? State.AwaitPin : State.Idle;
      case State.AwaitPin:
        if (ev.kind !== "pin") return ev.kind === "end" ? State.Idle : State.AwaitPin;
        if (ev.pin === this.correctPin) {
          this.triesLeft = 3;
          return State.Ready;
        }
        this.triesLeft--;
        return this.triesLeft === 0 ? State.Locked : State.AwaitPin;
      case State.Ready:
        if (ev.kind === "sign") {
          this.signed += ev.amount;
          return State.Ready;
        }
        return ev.kind === "end" ? State.Idle : State.Ready;
      case State.Locked:
        return State.Locked;
    }
  }
}

const s = new Session("2468");
const script: Event[] = [
  { kind: "sign", amount: 5 },
  { kind: "start" },
  { kind: "pin", pin: "0000" },
  { kind: "pin", pin: "2468" },
  { kind: "sign", amount: 120 },
  { kind: "sign", amount: 30 },
  { kind: "end" },
  { kind: "start" },
  { kind: "pin", pin: "1" },
  { kind: "pin", pin: "2" },
  { kind: "pin", pin: "3" },
  { kind: "start" },
];
for (let i = 0; i < script.length; i++) s.handle(script[i]);
for (let i = 0; i < s.journal.length; i++) console.log(s.journal[i]);
console.log("final " + s.state + " signed " + s.signed + " tries " + s.triesLeft);
