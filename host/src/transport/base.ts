import type { Transport } from "./types.ts";

/** Listener bookkeeping shared by the concrete transports. */
export abstract class TransportBase implements Transport {
  abstract readonly description: string;
  abstract open(): Promise<void>;
  abstract close(): Promise<void>;
  abstract write(bytes: Uint8Array): Promise<void>;
  protected opened = false;
  private closedFired = false;
  private readonly dataListeners: Array<(chunk: Uint8Array) => void> = [];
  private readonly closeListeners: Array<(cause?: Error) => void> = [];
  private readonly errorListeners: Array<(err: Error) => void> = [];

  get isOpen(): boolean {
    return this.opened;
  }
  onData(listener: (chunk: Uint8Array) => void): void {
    this.dataListeners.push(listener);
  }
  onClose(listener: (cause?: Error) => void): void {
    this.closeListeners.push(listener);
  }
  onError(listener: (err: Error) => void): void {
    this.errorListeners.push(listener);
  }
  protected emitData(chunk: Uint8Array): void {
    // Copy: Node hands out Buffers that may be pooled views over a larger ArrayBuffer.
    const copy = new Uint8Array(chunk);
    for (const l of this.dataListeners) l(copy);
  }
  protected emitClose(cause?: Error): void {
    this.opened = false;
    if (this.closedFired) return;
    this.closedFired = true;
    for (const l of this.closeListeners) l(cause);
  }
  protected emitError(err: Error): void {
    for (const l of this.errorListeners) l(err);
  }
}
