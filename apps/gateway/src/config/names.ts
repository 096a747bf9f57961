import { isIPv4 } from 'node:net';
import { isDnsName } from './address.ts';
import { InvalidValue } from './invalid-value.ts';

/** Characters Windows refuses in a share name (MS-FSCC 2.1.6); control characters too. */
const SHARE_NAME_FORBIDDEN = /["\\/[\]:|<>+=;,*?]/;

function hasControlCharacter(text: string): boolean {
  return [...text].some((c) => c.charCodeAt(0) < 0x20 || c === '\x7f');
}

export function parseShareName(text: string): string {
  if (text === '' || text.length > 80) {
    throw new InvalidValue(`share name '${text}' must be 1 to 80 characters`);
  }
  const bad = SHARE_NAME_FORBIDDEN.exec(text);
  if (bad) throw new InvalidValue(`share name '${text}' contains '${bad[0]}', which SMB clients refuse`);
  if (hasControlCharacter(text)) throw new InvalidValue(`share name '${text}' contains a control character`);
  if (text.toUpperCase() === 'IPC$') throw new InvalidValue('IPC$ is reserved for the SMB server itself');
  return text;
}

/** NetBIOS domain and workgroup names: what NTLM and SMB clients show, 15 characters at most. */
export function parseNetbiosName(text: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,14}$/.test(text)) {
    throw new InvalidValue(`'${text}' is not a NetBIOS name: 1 to 15 letters, digits, '.', '_' or '-'`);
  }
  return text;
}

/** S3 bucket naming rules for general purpose buckets, as AWS clients expect them. */
export function parseBucketName(text: string): string {
  const ok = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(text) && !text.includes('..') && !isIPv4(text);
  if (!ok) {
    throw new InvalidValue(`'${text}' is not a bucket name: 3 to 63 lowercase letters, digits, '.' or '-'`);
  }
  return text;
}

export function parseGroupName(text: string): string {
  if (text.trim() === '' || /[:,]/.test(text) || hasControlCharacter(text)) {
    throw new InvalidValue(`'${text}' is not a group name`);
  }
  return text;
}

export function parseRegion(text: string): string {
  if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(text)) {
    throw new InvalidValue(`'${text}' is not a region name like us-east-1`);
  }
  return text;
}

export function parseHostName(text: string): string {
  if (!isDnsName(text)) throw new InvalidValue(`'${text}' is not a host name`);
  return text;
}

/** How this gateway appears among nodes and in metrics; not necessarily resolvable. */
export function parseNodeName(text: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(text)) {
    throw new InvalidValue(`'${text}' is not a node name: 1 to 63 letters, digits, '.', '_' or '-'`);
  }
  return text;
}

/**
 * A web origin browsers may call S3 from (s3.cors_origins): `scheme://host[:port]` as a browser
 * sends it in `Origin`, lower case, no path; or `*` for any origin.
 */
export function parseCorsOrigin(text: string): string {
  if (text === '*') return text;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidValue(`'${text}' is not an origin like https://app.example.com (or *)`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== text.toLowerCase()) {
    throw new InvalidValue(
      `'${text}' is not an origin like https://app.example.com: a scheme and a host (and a port), no path`,
    );
  }
  return url.origin;
}
