import { type ComposeOptions, composeHalftone, type Halftone } from './compose.js';
import { loadConfig } from './platform/config/load-config.js';

export const TEST_TOKEN = 'hat_test_token_0123456789';

export interface TestApp extends Halftone {
  /** Admin request headers. */
  readonly admin: { authorization: string };
  /** Creates an app and returns its client key. */
  createApp(id?: string, platforms?: string[]): Promise<string>;
}

/** The whole server on SQLite in memory, blobs in memory and an in-process bus; no socket. */
export async function createTestApp(
  env: Record<string, string> = {},
  opts: ComposeOptions = {},
): Promise<TestApp> {
  const config = loadConfig({
    env: {
      HALFTONE_DB_URL: 'sqlite::memory:',
      HALFTONE_BLOB_URL: 'memory:',
      HALFTONE_ADMIN_TOKEN: TEST_TOKEN,
      HALFTONE_LOG_LEVEL: 'silent',
      HALFTONE_PUBLIC_URL: 'https://cdn.example.com',
      ...env,
    },
  });
  const halftone = await composeHalftone(config, opts);
  const admin = { authorization: `Bearer ${TEST_TOKEN}` };
  return {
    ...halftone,
    admin,
    async createApp(id = 'demo', platforms = ['android', 'ios']) {
      const res = await halftone.api.inject({
        method: 'POST',
        url: '/admin/v1/apps',
        headers: admin,
        payload: { id, platforms },
      });
      if (res.statusCode !== 201) throw new Error(`createApp: ${res.statusCode} ${res.body}`);
      return (res.json() as { clientKey: string }).clientKey;
    },
  };
}

/** A multipart/form-data body: text fields, then one file part named `file`. */
export function multipart(
  fields: Record<string, string>,
  file?: { name: string; data: Buffer },
): { payload: Buffer; headers: Record<string, string> } {
  const boundary = `----halftone${Math.random().toString(16).slice(2)}`;
  const chunks: Buffer[] = [];
  for (const [k, v] of Object.entries(fields)) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  }
  if (file) {
    chunks.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${file.name}"\r\nContent-Type: application/zip\r\n\r\n`,
      ),
      file.data,
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return {
    payload: Buffer.concat(chunks),
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  };
}
