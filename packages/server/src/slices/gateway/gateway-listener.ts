import { createServer as createHttpServer } from 'node:http';
import { type AddressInfo, type Server, createServer } from 'node:net';
import { abTestingAdminFor } from './abtesting-admin.js';
import { abTestingGatewayHandler, isAbTestingPath } from './abtesting-routes.js';
import { GatewayProxy, isLoopback } from './gateway-proxy.js';
import type { GatewayService } from './gateway-service.js';

/** A listening gateway port. */
export interface GatewayListener {
  /** `http://host:port` of the listener. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export interface GatewayListenOptions {
  readonly proxy: GatewayProxy;
  /** Needed for `adminCompat`. */
  readonly gateway?: GatewayService;
  readonly port: number;
  readonly host: string;
  /** Also answer the ABTestingGateway admin dialects on this port (loopback peers only). */
  readonly adminCompat: boolean;
}

/**
 * Starts the gateway's proxy listener (the `--gateway-port`): a TCP server whose connections the
 * proxy engine speaks HTTP/1.1 on. `/healthz` and `/metrics` for loopback peers and, with
 * `adminCompat`, the ABTestingGateway admin paths for loopback peers are handed to a local
 * `node:http` server instead of being proxied.
 *
 * @example
 * const l = await listenGateway({ proxy, gateway, port: 8080, host: '127.0.0.1', adminCompat: false });
 * await l.close();
 */
export async function listenGateway(opts: GatewayListenOptions): Promise<GatewayListener> {
  const { proxy } = opts;
  const compat = opts.adminCompat && opts.gateway !== undefined ? abTestingGatewayHandler(abTestingAdminFor(opts.gateway)) : undefined;
  const local = createHttpServer({ keepAliveTimeout: 5_000 }, (req, res) => {
    // One request per handed-off connection: the next one comes back to the proxy engine.
    res.setHeader('connection', 'close');
    if (compat !== undefined && compat(req, res)) return;
    if (GatewayProxy.isHealthPath(req.method ?? '', req.url ?? '', req.socket.remoteAddress)) {
      proxy.answerLocal(req, res);
      return;
    }
    // A kept-alive local connection that then asks for something else.
    res.writeHead(421, { 'content-type': 'text/plain', connection: 'close' }).end('misdirected request\n');
  });
  proxy.setLocal(
    (method, path, peer) =>
      GatewayProxy.isHealthPath(method, path, peer) || (compat !== undefined && isLoopback(peer) && isAbTestingPath(path)),
    (socket) => {
      local.emit('connection', socket);
      socket.resume();
    },
  );
  // Paused: the proxy moves each connection's handle to a socket that reads into a shared buffer.
  const server: Server = createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: true }, proxy.accept);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  const h = a.family === 'IPv6' ? (a.address === '::1' ? 'localhost' : `[${a.address}]`) : a.address;
  return {
    url: `http://${h}:${a.port}`,
    port: a.port,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      local.closeAllConnections();
      await proxy.close();
      await closed;
    },
  };
}
