/** Types of client-address.mjs (plain JavaScript: the console's server runs it without a build). */
export type Trusted = (address: string) => boolean;
export function trustedProxies(text?: string): Trusted;
export function browserAddress(peer: string, forwardedFor: string | undefined, trusted: Trusted): string;
export function vouchFor(
  headers: Record<string, string | string[] | undefined>,
  peer: string,
  trusted: Trusted,
): void;
