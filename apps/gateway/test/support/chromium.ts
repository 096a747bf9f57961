import { type Browser, chromium } from 'playwright-core';
import { toolPath } from './tools.ts';

/**
 * Headless Chromium (Debian's), as every console test and the bench's chart drive it. The
 * background-networking flags keep it from reaching for hosts this machine cannot reach.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: toolPath('chromium'),
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    // launch() gives every browser a fresh temporary --user-data-dir of its own.
  });
}
