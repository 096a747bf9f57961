import { tortureSuites } from './torture.ts';

/**
 * smbtorture (samba-testsuite 4.17) suites this server passes in full, and single subtests of
 * suites it does not; each must report no failure or error. (smb2.maxfid passes too but takes
 * minutes; it is left to manual runs.) What is left out, and why, is in the SMB server's notes.
 */
const SUITES = [
  'smb2.connect',
  'smb2.read',
  'smb2.dir',
  'smb2.compound_find',
  'smb2.compound_async',
  'smb2.rename',
  'smb2.tcon',
  'smb2.mkdir',
  'smb2.credits',
  'smb2.secleak',
  'smb2.deny',
  'smb2.winattr',
  'smb2.openattr',
  'smb2.create.quota-fake-file',
  // smb2.notify without mask-change and rec: both remove a directory whose child is still open
  // elsewhere and expect it gone (Windows' POSIX delete semantics; Samba fails them too).
  ...[
    'valid-req',
    'tcon',
    'dir',
    'mask',
    'tdis',
    'tdis1',
    'close',
    'logoff',
    'session-reconnect',
    'invalid-reauth',
    'tree',
    'basedir',
    'double',
    'file',
    'tcp',
    'overflow',
    'rmdir1',
    'rmdir2',
    'rmdir3',
    'rmdir4',
    'handle-permissions',
  ].map((t) => `smb2.notify.${t}`),
  // Durable handles with batch oplocks and leases (smb2.durable-open in full). Left out of
  // smb2.durable-v2-open: app-instance (no SMB2_CREATE_APP_INSTANCE_ID).
  'smb2.durable-open-disconnect',
  'smb2.durable-open',
  ...[
    'create-blob',
    'durable-v2-setinfo',
    'open-lease',
    'open-oplock',
    'persistent-open-lease',
    'persistent-open-oplock',
    'reopen1',
    'reopen1a',
    'reopen1a-lease',
    'reopen2',
    'reopen2-lease',
    'reopen2-lease-v2',
    'reopen2b',
    'reopen2c',
  ].map((t) => `smb2.durable-v2-open.${t}`),
  'smb2.durable-v2-delay',
];

tortureSuites('smbtorture (Samba 4.17) against the SMB server', SUITES);
