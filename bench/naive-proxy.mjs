// The reference point of bench:gateway: the "naive 20-line Node http proxy" (node:http server +
// node:http client with a keep-alive agent, bodies piped). Usage: node naive-proxy.mjs PORT UPSTREAM_URL
import { Agent, createServer, request } from 'node:http';

const [port, upstream] = [Number(process.argv[2]), new URL(process.argv[3])];
const agent = new Agent({ keepAlive: true, maxSockets: 256 });
createServer((req, res) => {
  const headers = { ...req.headers, host: upstream.host };
  delete headers.connection;
  const up = request(
    { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent },
    (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    },
  );
  up.on('error', () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(up);
}).listen(port, '127.0.0.1', () => process.stdout.write(`naive proxy on ${port}\n`));
