import { z } from 'zod';

/**
 * The console's environment as its pages and routes read it, the one place they do (the
 * listener's PORT, -H and CFS_CONSOLE_TRUSTED_PROXIES are server.mjs's). Parsed per call: the
 * server gives the values at run time, and nothing here may be frozen into the build.
 */
const schema = z.object({
  CFS_GATEWAY_URL: z
    .url({ error: 'CFS_GATEWAY_URL must be an http(s) URL such as http://127.0.0.1:8080' })
    .default('http://127.0.0.1:8080')
    .transform((u) => u.replace(/\/+$/, '')),
  PORT: z.coerce.number().int().min(1).max(65535).default(3000),
});

export type ServerEnv = z.infer<typeof schema>;

export function serverEnv(source: NodeJS.ProcessEnv = process.env): ServerEnv {
  const parsed = schema.safeParse({
    CFS_GATEWAY_URL: source.CFS_GATEWAY_URL || undefined,
    PORT: source.PORT || undefined,
  });
  if (!parsed.success) throw new Error(`console environment: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
