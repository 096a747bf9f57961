import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { GatewayConfig } from '../../config/types.ts';
import { fail, type PreflightResult, pass, warn } from './result.ts';

const LOOKUP_TIMEOUT_MS = 5000;

/** Host names the gateway or its clients resolve, each with the key that names it. */
export function configuredHostNames(config: GatewayConfig): { key: string; name: string }[] {
  const names: { key: string; name: string }[] = [];
  const add = (key: string, host: string) => {
    if (host !== '' && isIP(host) === 0 && !names.some((n) => n.name === host))
      names.push({ key, name: host });
  };
  if (config.s3.enabled && config.s3.domain) add('s3.domain', config.s3.domain);
  if (config.metadata.kind === 'postgres') add('metadata.url', new URL(config.metadata.url).hostname);
  const binds: [string, string, boolean][] = [
    ['nfs.bind', config.nfs.bind.host, config.nfs.enabled],
    ['nfs.mount_bind', config.nfs.mountBind.host, config.nfs.enabled],
    ['s3.bind', config.s3.bind.host, config.s3.enabled],
    ['smb.bind', config.smb.bind.host, config.smb.enabled],
    ['health.bind', config.health.bind.host, true],
  ];
  for (const [key, host, on] of binds) if (on) add(key, host);
  return names;
}

/** Resolves as the gateway will (getaddrinfo: /etc/hosts, then DNS), within a few seconds. */
async function resolveName(name: string): Promise<{ addresses: string[] } | { error: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const found = await Promise.race([
      lookup(name, { all: true }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${LOOKUP_TIMEOUT_MS} ms`)),
          LOOKUP_TIMEOUT_MS,
        );
      }),
    ]);
    return { addresses: found.map((a) => a.address) };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { error: code === 'ENOTFOUND' ? 'no such name' : (code ?? (e as Error).message) };
  } finally {
    clearTimeout(timer);
  }
}

/** The runbook's "DNS resolution works for metadata server hostnames and the gateway hostname". */
export async function checkDns(config: GatewayConfig): Promise<PreflightResult[]> {
  const names = configuredHostNames(config);
  if (names.length === 0) return [pass('dns', 'no host names configured (every address is an IP address)')];
  const results: PreflightResult[] = [];
  for (const { key, name } of names) {
    const r = await resolveName(name);
    if ('error' in r) {
      results.push(fail(`dns ${key}`, `${name} does not resolve (${r.error})`));
      continue;
    }
    results.push(pass(`dns ${key}`, `${name} resolves to ${r.addresses.join(', ')}`));
    if (key === 's3.domain') {
      // Virtual-hosted-style requests name the bucket in the host: bucket.domain.
      const probe = `cfs-preflight-bucket.${name}`;
      const wildcard = await resolveName(probe);
      if ('error' in wildcard) {
        results.push(
          warn(
            'dns s3.domain',
            `${probe} does not resolve: virtual-hosted-style requests (bucket.${name}) need a wildcard record *.${name}; path-style requests work without it`,
          ),
        );
      }
    }
  }
  return results;
}
