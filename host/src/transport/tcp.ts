import { Socket, connect } from "node:net";
import { TransportBase } from "./base.ts";
import { openFailure, TransportError } from "../errors.ts";

/** A TCP byte stream, e.g. the virtual board behind `keycarrier emulate` (`tcp://127.0.0.1:4000`). */
export class TcpTransport extends TransportBase {
  readonly description: string;
  private socket: Socket | undefined;

  constructor(
    readonly host: string,
    readonly port: number,
  ) {
    super();
    if (!host) throw new TransportError("tcp transport needs a host, e.g. tcp://127.0.0.1:4000");
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new TransportError(`invalid TCP port ${port}: use 1–65535, e.g. tcp://127.0.0.1:4000`);
    }
    this.description = `tcp ${host}:${port}`;
  }

  open(): Promise<void> {
    if (this.opened) return Promise.resolve();
    const target = `tcp://${this.host}:${this.port}`;
    return new Promise((resolve, reject) => {
      const socket = connect({ host: this.host, port: this.port });
      socket.setNoDelay(true);
      const onConnectError = (err: Error): void => reject(openFailure("tcp", target, err));
      socket.once("error", onConnectError);
      socket.once("connect", () => {
        socket.off("error", onConnectError);
        this.socket = socket;
        this.opened = true;
        socket.on("data", (chunk: Buffer) => this.emitData(chunk));
        socket.on("error", (e: Error) => this.emitError(new TransportError(`${this.description}: ${e.message}`, undefined, { cause: e })));
        socket.on("close", (hadError: boolean) => {
          this.socket = undefined;
          this.emitClose(hadError ? new TransportError(`${this.description} closed after an error`) : undefined);
        });
        resolve();
      });
    });
  }

  write(bytes: Uint8Array): Promise<void> {
    const socket = this.socket;
    if (!socket || !this.opened) return Promise.reject(new TransportError(`${this.description} is not open`));
    return new Promise((resolve, reject) => {
      socket.write(bytes, (err) => {
        if (err) reject(new TransportError(`write to ${this.description} failed: ${err.message}`, undefined, { cause: err }));
        else resolve();
      });
    });
  }

  close(): Promise<void> {
    const socket = this.socket;
    if (!socket || socket.destroyed) {
      this.emitClose();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      socket.once("close", () => resolve());
      socket.end();
      // A peer that never half-closes must not keep us waiting.
      setTimeout(() => socket.destroy(), 500).unref();
    });
  }
}
