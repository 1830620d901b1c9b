/**
 * Serve a board's byte endpoint (its USB console) on a loopback TCP port, bytes unchanged both
 * ways, one client per listener — like one USB host on one cable. Several listeners (a TCP port
 * and the PTY bridge) may share one endpoint: board output goes to every connected client.
 */
import net from "node:net";

/** The host side of a board's USB: what `VirtualBoard.usb` offers. */
export interface ByteEndpoint {
  /** Bytes from the host to the board. */
  write(bytes: Uint8Array): void;
  /** Register for bytes from the board to the host. */
  onData(cb: (bytes: Uint8Array) => void): void;
}

type Sink = (bytes: Uint8Array) => void;
/** How long a second client waits for the first to finish closing before it is refused. */
const REFUSE_AFTER_MS = 500;
const fanouts = new WeakMap<ByteEndpoint, Set<Sink>>();

/** One onData subscription per endpoint, shared by every listener serving it. */
function attach(endpoint: ByteEndpoint, sink: Sink): () => void {
  let sinks = fanouts.get(endpoint);
  if (!sinks) {
    const created = new Set<Sink>();
    fanouts.set(endpoint, created);
    endpoint.onData((bytes) => { for (const s of created) s(bytes); });
    sinks = created;
  }
  sinks.add(sink);
  return () => { sinks!.delete(sink); };
}

export interface TcpExposure {
  readonly host: string;
  readonly port: number;
  /** `tcp://127.0.0.1:PORT`, the form EspruinoTools (`-p`) and the host transports accept. */
  readonly url: string;
  /** Whether a client is connected right now. */
  connected(): boolean;
  close(): Promise<void>;
}

export interface TcpOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Loopback only by default: the console is unauthenticated. */
  host?: string;
  /** Told about connects, refusals and disconnects (one line each). */
  log?: (line: string) => void;
}

export function serveTcp(endpoint: ByteEndpoint, opts: TcpOptions = {}): Promise<TcpExposure> {
  const host = opts.host ?? "127.0.0.1";
  const log = opts.log ?? (() => {});
  let client: net.Socket | undefined;
  const detach = attach(endpoint, (bytes) => { if (client && !client.destroyed) client.write(bytes); });

  const accept = (socket: net.Socket): void => {
    client = socket;
    socket.setNoDelay(true);
    log(`client ${socket.remoteAddress}:${socket.remotePort} connected`);
    socket.on("data", (chunk: Buffer) => endpoint.write(new Uint8Array(chunk)));
    const gone = (): void => {
      if (client !== socket) return;
      client = undefined;
      log("client disconnected");
      for (const cb of onFree.splice(0)) cb();
    };
    socket.on("close", gone);
    socket.on("error", gone);
  };
  const onFree: (() => void)[] = [];

  const server = net.createServer((socket) => {
    if (!client) { accept(socket); return; }
    // A client that has just hung up may not have been seen closing yet: give it a moment, then
    // refuse (a second host on the same cable makes no sense) without touching the stream.
    const timer = setTimeout(() => {
      const i = onFree.indexOf(take);
      if (i >= 0) onFree.splice(i, 1);
      log(`refused ${socket.remoteAddress}:${socket.remotePort}: a client is already connected`);
      socket.destroy();
    }, REFUSE_AFTER_MS);
    const take = (): void => { clearTimeout(timer); if (!socket.destroyed) accept(socket); };
    onFree.push(take);
  });

  return new Promise((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) => {
      detach();
      reject(new Error(`serveTcp: cannot listen on ${host}:${opts.port ?? 0} (${e.code ?? e.message}); pick another --tcp port`));
    });
    server.listen(opts.port ?? 0, host, () => {
      const port = (server.address() as net.AddressInfo).port;
      resolve({
        host,
        port,
        url: `tcp://${host}:${port}`,
        connected: () => client !== undefined,
        close: () => new Promise<void>((done) => {
          detach();
          client?.destroy();
          server.close(() => done());
        }),
      });
    });
  });
}
