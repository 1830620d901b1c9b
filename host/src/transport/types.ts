/**
 * One byte pipe to a KeyCarrier (or to anything that speaks like one).
 *
 * A transport moves raw bytes and nothing else: framing, retries and timeouts live in the link
 * (`host/src/link.ts`). Every transport delivers data as `Uint8Array` chunks split arbitrarily,
 * exactly as a USB CDC or TCP stream would.
 */
export interface Transport {
  /** Human-readable, e.g. `serial /dev/ttyACM0 @115200` or `tcp 127.0.0.1:4000`. */
  readonly description: string;
  readonly isOpen: boolean;
  /** Resolves once bytes can be written; rejects with a TransportError that says what to do. */
  open(): Promise<void>;
  /** Idempotent. Resolves once the underlying resource is released. */
  close(): Promise<void>;
  /** Resolves once the bytes were handed to the OS. Rejects with a TransportError when closed. */
  write(bytes: Uint8Array): Promise<void>;
  onData(listener: (chunk: Uint8Array) => void): void;
  /** Fires once when the pipe closes, whether we closed it or the other side went away. */
  onClose(listener: (cause?: Error) => void): void;
  /** Fires on errors after open (a failed open rejects instead). */
  onError(listener: (err: Error) => void): void;
  /** A transport whose requests take long to move (NFC: page by page) asks for this base link timeout. */
  readonly linkTimeoutMs?: number;
}

/** Options every transport understands; unknown ones are ignored by transports they don't apply to. */
export interface TransportOptions {
  /** Serial line speed; USB CDC ignores it but real UARTs don't. Default 115200. */
  baudRate?: number;
  /** Receives the exec transport's child stderr (verbose mode); dropped when absent. */
  stderr?: (text: string) => void;
}
