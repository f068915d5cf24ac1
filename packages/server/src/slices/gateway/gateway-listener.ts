import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { abTestingAdminFor } from './abtesting-admin.js';
import { abTestingGatewayHandler } from './abtesting-routes.js';
import type { GatewayProxy } from './gateway-proxy.js';
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
  readonly gateway: GatewayService;
  readonly port: number;
  readonly host: string;
  /** Also answer the ABTestingGateway admin dialects on this port (loopback peers only). */
  readonly adminCompat: boolean;
}

/**
 * Starts the gateway's proxy listener (the `--gateway-port`): every request is proxied, except
 * `/healthz` and `/metrics` for loopback peers and, with `adminCompat`, the ABTestingGateway
 * admin paths for loopback peers.
 *
 * @example
 * const l = await listenGateway({ proxy, gateway, port: 8080, host: '127.0.0.1', adminCompat: false });
 * await l.close();
 */
export async function listenGateway(opts: GatewayListenOptions): Promise<GatewayListener> {
  const { proxy } = opts;
  const compat = opts.adminCompat ? abTestingGatewayHandler(abTestingAdminFor(opts.gateway)) : undefined;
  const server: Server = createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
    if (compat !== undefined && compat(req, res)) return;
    void proxy.handle(req, res);
  });
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
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
