// A request a platform part refuses: an HTTP status, a stable reason id for programs and a message
// for people. The parts (PIN verifier, transport keys, offline authority) throw their own subclass
// without importing the service; the service turns any Refusal into its PlatformError in one place.
export class Refusal extends Error {
  constructor(readonly httpStatus: number, readonly reason: string, message: string) {
    super(message);
    this.name = new.target.name;
  }
}
