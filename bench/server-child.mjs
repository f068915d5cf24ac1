// Fallback server launcher for the benchmark, used only when the CLI (packages/cli/dist/main.js)
// is not built: starts the server through `serve()` of @halftone/server with the same options
// `halftone serve --data DIR --port 0 --host 127.0.0.1` would pass, so the banner on stdout is
// the same one check.bench.mjs reads.
//
// Usage: node bench/server-child.mjs <dataDir>   (env: HALFTONE_ADMIN_TOKEN, HALFTONE_LOG_LEVEL)
const dataDir = process.argv[2];
if (!dataDir) {
  process.stderr.write('usage: node bench/server-child.mjs <dataDir>\n');
  process.exit(2);
}
const { serve } = await import(new URL('../packages/server/dist/index.js', import.meta.url).href);
await serve({ dataDir, port: 0, host: '127.0.0.1', env: process.env });
