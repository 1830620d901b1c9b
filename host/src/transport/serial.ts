import { SerialPort } from "serialport";
import { TransportBase } from "./base.ts";
import { openFailure, TransportError } from "../errors.ts";

export const DEFAULT_BAUD_RATE = 115200;

/**
 * A serial device through the `serialport` package. Any path is accepted as given: PTYs (socat,
 * the virtual board) work even though `SerialPort.list()` never reports them.
 */
export class SerialTransport extends TransportBase {
  readonly description: string;
  private port: SerialPort | undefined;

  constructor(
    readonly path: string,
    readonly baudRate: number = DEFAULT_BAUD_RATE,
  ) {
    super();
    if (!path) throw new TransportError("serial transport needs a device path, e.g. /dev/ttyACM0");
    if (!Number.isInteger(baudRate) || baudRate <= 0) {
      throw new TransportError(`invalid baud rate ${baudRate}: use a positive integer such as 115200`);
    }
    this.description = `serial ${path} @${baudRate}`;
  }

  open(): Promise<void> {
    if (this.opened) return Promise.resolve();
    const port = new SerialPort({ path: this.path, baudRate: this.baudRate, autoOpen: false });
    return new Promise((resolve, reject) => {
      port.open((err) => {
        if (err) {
          reject(openFailure("serial", this.path, err));
          return;
        }
        this.port = port;
        this.opened = true;
        port.on("data", (chunk: Buffer) => this.emitData(chunk));
        port.on("error", (e: Error) => this.emitError(new TransportError(`${this.description}: ${e.message}`, undefined, { cause: e })));
        port.on("close", (e?: Error | null) => {
          this.emitClose(e ? new TransportError(`${this.description} closed: ${e.message}`, undefined, { cause: e }) : undefined);
        });
        resolve();
      });
    });
  }

  write(bytes: Uint8Array): Promise<void> {
    const port = this.port;
    if (!port || !this.opened) return Promise.reject(new TransportError(`${this.description} is not open`));
    return new Promise((resolve, reject) => {
      port.write(Buffer.from(bytes), (err) => {
        if (err) reject(new TransportError(`write to ${this.description} failed: ${err.message}`, undefined, { cause: err }));
        else port.drain(() => resolve());
      });
    });
  }

  close(): Promise<void> {
    const port = this.port;
    this.port = undefined;
    if (!port || !port.isOpen) {
      this.emitClose();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      port.close(() => {
        this.emitClose();
        resolve();
      });
    });
  }
}
