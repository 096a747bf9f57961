import assert from 'node:assert/strict';
import { test } from 'node:test';
import { browserAddress, trustedProxies, vouchFor } from '../client-address.mjs';

const none = trustedProxies('');
const nginx = trustedProxies('10.0.0.5, 192.168.7.0/24 ,::1');

test('without trusted proxies the browser is the connection: its own X-Forwarded-For is not read', () => {
  assert.equal(browserAddress('203.0.113.9', '10.9.9.9', none), '203.0.113.9');
  assert.equal(
    browserAddress('::ffff:203.0.113.9', undefined, none),
    '203.0.113.9',
    'IPv4 on a dual-stack socket',
  );
  // The proxy's own address is no proxy until listed.
  assert.equal(browserAddress('10.0.0.5', '203.0.113.9', none), '10.0.0.5');
});

test('behind trusted proxies: the rightmost address that is not one of them', () => {
  assert.equal(browserAddress('10.0.0.5', '203.0.113.9', nginx), '203.0.113.9');
  assert.equal(browserAddress('::ffff:10.0.0.5', '203.0.113.9', nginx), '203.0.113.9');
  // A browser that writes its own header in front: the proxy appended the real one.
  assert.equal(browserAddress('10.0.0.5', '6.6.6.6, 203.0.113.9', nginx), '203.0.113.9');
  // Two proxies, both trusted: the first before them.
  assert.equal(browserAddress('::1', '6.6.6.6, 198.51.100.1, 192.168.7.20', nginx), '198.51.100.1');
  // Something that is not an address stops the walk at the last trusted hop.
  assert.equal(browserAddress('10.0.0.5', 'unknown', nginx), '10.0.0.5');
  assert.equal(browserAddress('10.0.0.5', undefined, nginx), '10.0.0.5');
});

test('CFS_CONSOLE_TRUSTED_PROXIES that cannot be read is refused, naming the entry', () => {
  for (const bad of ['10.0.0.5/33', 'nginx.local', '10.0.0.0/8/1', '::1/129', '10.0.0.0/x']) {
    assert.throws(
      () => trustedProxies(`127.0.0.1, ${bad}`),
      (e: Error) => e.message.includes(`"${bad}"`) && e.message.startsWith('CFS_CONSOLE_TRUSTED_PROXIES'),
    );
  }
  assert.equal(trustedProxies('10.0.0.0/8')('10.200.1.1'), true);
  assert.equal(trustedProxies('10.0.0.0/8')('11.0.0.1'), false);
});

test('the headers Next.js sees: X-Forwarded-For the browser alone; X-Forwarded-Proto only from a proxy', () => {
  const fromBrowser: Record<string, string> = {
    'x-forwarded-for': '10.9.9.9',
    'x-forwarded-proto': 'https',
    'x-forwarded-host': 'evil.example',
    host: 'console:3000',
  };
  vouchFor(fromBrowser, '203.0.113.9', nginx);
  assert.deepEqual(fromBrowser, { 'x-forwarded-for': '203.0.113.9', host: 'console:3000' });

  const fromProxy: Record<string, string> = {
    'x-forwarded-for': '203.0.113.9',
    'x-forwarded-proto': 'https',
  };
  vouchFor(fromProxy, '10.0.0.5', nginx);
  assert.deepEqual(fromProxy, { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https' });
});
