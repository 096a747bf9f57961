import { equal, ok } from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runCommand } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools, toolPath } from '../support/tools.ts';
import { type SmbGateway, startSmbGateway } from './fixture.ts';

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

/**
 * The second group of protocol suites, beside the first on a gateway of its own: byte-range
 * locks, sessions, opens, share modes, reads and writes, queries.
 */
const MORE_SUITES = [
  // smb2.create without gentest (it fails against smbd 4.17 too) and aclfile, acldir and
  // nulldacl (they set DACLs that mode bits cannot hold — entries for other users, a NULL
  // DACL — STATUS_NOT_SUPPORTED here; PROTOCOL_NOTES.md, "Permissions from Windows").
  ...[
    'blob',
    'open',
    'brlocked',
    'multi',
    'delete',
    'leading-slash',
    'impersonation',
    'mkdir-dup',
    'dir-alloc-size',
    'dosattr_tmp_dir',
    'quota-fake-file',
  ].map((t) => `smb2.create.${t}`),
  // Byte-range locks: Windows' zero-length locks, stacking, unlock order, cancel, and lock
  // replay on durable opens. Left out: replay_broken_windows (it needs resilient handles,
  // FSCTL_LMR_REQUEST_RESILIENCY, answered STATUS_NOT_SUPPORTED here); rw-none (Windows 2008
  // only), the multi-channel replay and ctdb-delrec-deadlock, which skip themselves.
  ...[
    'valid-request',
    'rw-shared',
    'rw-exclusive',
    'auto-unlock',
    'lock',
    'async',
    'cancel',
    'cancel-tdis',
    'cancel-logoff',
    'errorcode',
    'zerobytelength',
    'zerobyteread',
    'unlock',
    'multiple-unlock',
    'stacking',
    'contend',
    'context',
    'range',
    'overlap',
    'truncate',
    'replay_smb3_specification_durable',
  ].map((t) => `smb2.lock.${t}`),
  // Sessions: reconnects, re-authentication keeping the session's keys, logoffs, AES-CMAC and
  // AES-GMAC signing, the four ciphers. Left out: reauth2–5 (they re-authenticate as anonymous,
  // refused unless smb.map_to_guest allows guests; reauth4 and 5 fail against smbd 4.17 too),
  // signing-hmac-sha-256 (3.x sessions sign with AES-CMAC or AES-GMAC here, not HMAC-SHA256),
  // the bind tests (multichannel is not offered) and the expiry tests (Kerberos), which skip.
  ...[
    'reconnect1',
    'reconnect2',
    'reauth1',
    'reauth6',
    'two_logoff',
    'signing-aes-128-cmac',
    'signing-aes-128-gmac',
    'encryption-aes-128-ccm',
    'encryption-aes-128-gcm',
    'encryption-aes-256-ccm',
    'encryption-aes-256-gcm',
    'ntlmssp_bug14932',
  ].map((t) => `smb2.session.${t}`),
  // Compounds: related and unrelated chains, invalid ones, interim replies, every reply 8-byte
  // aligned. Left out: related4 and related7 (they set a DACL granting CREATOR OWNER, which mode
  // bits cannot hold: STATUS_NOT_SUPPORTED here; PROTOCOL_NOTES.md, "Permissions from Windows").
  ...[
    'related1',
    'related2',
    'related3',
    'related5',
    'related6',
    'related8',
    'related9',
    'unrelated1',
    'invalid1',
    'invalid2',
    'invalid3',
    'invalid4',
    'interim1',
    'interim2',
    'compound-break',
    'compound-padding',
    'create-write-close',
  ].map((t) => `smb2.compound.${t}`),
  'smb2.sharemode',
  'smb2.check-sharemode',
  'smb2.rw.rw1',
  'smb2.rw.rw2',
  // smb2.getinfo in full (complex and normalized query named streams; smbd 4.17 without
  // vfs_streams_xattr fails both); smb2.fileid's unique and unique-dir (fileid and fileid-dir
  // fail against smbd 4.17 too).
  'smb2.getinfo',
  // Named streams in full: names, share modes, delete, dispositions, renames (smbd 4.17 with
  // vfs_streams_xattr fails rename and rename2).
  'smb2.streams',
  'smb2.fileid.unique',
  'smb2.fileid.unique-dir',
  // A security descriptor query asking for nothing needs no READ_CONTROL (an empty descriptor).
  'smb2.sdread',
  // Timestamps before 1970 and past 2038, and -1/-2 (freeze and thaw). Left out: times past 2262
  // (kept in 64-bit nanoseconds here: they end at 2262-04-11), a path with '/' (Windows refuses
  // it: STATUS_OBJECT_NAME_INVALID) and the delayed-write tests, which expect Windows 2016's
  // deferred LastWriteTime where this server moves it at once, as Windows Server 2019 and later
  // do (test/smb/timestamps.test.ts).
  ...[
    'time_t_4294967295',
    'time_t_1',
    'time_t_0',
    'time_t_-1',
    'time_t_-2',
    'time_t_1968',
    'freeze-thaw',
  ].map((t) => `smb2.timestamps.${t}`),
  // Server-side copy (resume keys, FSCTL_SRV_COPYCHUNK and _WRITE: limits, locks, access, named
  // streams, across shares) and FSCTL_GET/SET_COMPRESSION answered "not supported" as a file
  // system without compression does. Left out: bug14769 (a Samba-only test FSCTL; smbd 4.17
  // fails it too). Sparse files, compression, duplicate extents and TRIM skip themselves: the
  // volume does not claim them.
  ...[
    'req_resume_key',
    'req_two_resume_keys',
    'copy_chunk_simple',
    'copy_chunk_multi',
    'copy_chunk_tiny',
    'copy_chunk_overwrite',
    'copy_chunk_append',
    'copy_chunk_limits',
    'copy_chunk_src_lock',
    'copy_chunk_dest_lock',
    'copy_chunk_bad_key',
    'copy_chunk_src_is_dest',
    'copy_chunk_src_is_dest_overlap',
    'copy_chunk_bad_access',
    'copy_chunk_write_access',
    'copy_chunk_src_exceed',
    'copy_chunk_src_exceed_multi',
    'copy_chunk_sparse_dest',
    'copy_chunk_max_output_sz',
    'copy_chunk_zero_length',
    'copy-chunk streams',
    'copy_chunk_across_shares',
    'copy_chunk_across_shares2',
    'copy_chunk_across_shares3',
    'compress_notsup_get',
    'compress_notsup_set',
  ].map((t) => `smb2.ioctl.${t}`),
];

/**
 * smbtorture's oplock suite (Samba 4.17): grants of level II, exclusive and batch oplocks, their
 * breaks on open, write, truncate, lock and set-info, acknowledgments and timeouts. Left out:
 * batch20 (it expects a rename on one connection to meet the share mode of a directory opened on
 * another; this server counts only the renaming connection's opens, as smb2.notify needs),
 * batch22b (it blocks a connection with iptables, root only), batch26 and stream1 (they expect
 * oplocks on named streams, which are granted none here).
 */
const SKIPPED = new Set(['batch20', 'batch22b', 'batch26', 'stream1']);
const OPLOCK_TESTS = [
  ...['1', '2', '3', '4', '5', '6', '9'].map((n) => `exclusive${n}`),
  ...[
    '1',
    '2',
    '3',
    '4',
    '5',
    '6',
    '7',
    '8',
    '9',
    '9a',
    '10',
    '11',
    '12',
    '13',
    '14',
    '15',
    '16',
    '19',
    '20',
    '21',
    '22a',
    '22b',
    '23',
    '24',
    '25',
    '26',
  ].map((n) => `batch${n}`),
  'stream1',
  'doc',
  'brl1',
  'brl2',
  'brl3',
  'levelii500',
  'levelii501',
  'levelii502',
  'statopen1',
].filter((t) => !SKIPPED.has(t));

/**
 * smbtorture's lease suite (Samba 4.17): v1 and v2 leases granted, upgraded, shared with
 * oplocks, broken on open, write, rename and delete, acknowledged in steps, timed out, with v2
 * epochs. Left out: request (it expects a lease on a named stream, granted none here) and v2_complex1 (it
 * expects a break on the connection the lease was first opened on when the same client has two;
 * this server sends it on the connection of the lease's first open still alive). v2_request,
 * v2_request_parent and dynamic_share skip themselves (directory leases, a second share).
 */
const LEASE_TESTS = [
  'break_twice',
  'nobreakself',
  'statopen',
  'statopen2',
  'statopen3',
  'statopen4',
  'upgrade',
  'upgrade2',
  'upgrade3',
  'break',
  'oplock',
  'multibreak',
  'breaking1',
  'breaking2',
  'breaking3',
  'v2_breaking3',
  'breaking4',
  'breaking5',
  'breaking6',
  'lock1',
  'complex1',
  'v2_epoch1',
  'v2_epoch2',
  'v2_epoch3',
  'v2_complex2',
  'v2_rename',
  'timeout',
  'unlink',
  'timeout-disconnect',
  'rename_wait',
  'duplicate_create',
  'duplicate_open',
  'v1_bug15148',
  'v2_bug15148',
];

/**
 * vfs.fruit, Samba's tests of Apple's SMB2 extensions, on a share with apple_extensions: the
 * AAPL reply, directory entries with Finder info and resource fork sizes, AFP_AfpInfo's and
 * AFP_Resource's rules (a resource fork written 64 MiB past its start among them), copyfile, NFS
 * ACEs, POSIX directory renames, AppleDouble `._` files converted into streams, and a stream
 * written through a second share of the folder without the extensions: all 32.
 */
const FRUIT_TESTS = [
  'copyfile',
  'read metadata',
  'write metadata',
  'resource fork IO',
  'SMB2/CREATE context AAPL',
  'stream names',
  'truncate resource fork to 0 bytes',
  'opening and creating resource fork',
  'fsync_resource_fork',
  'rename_dir_openfile',
  'File without AFP_AfpInfo',
  'create delete-on-close AFP_AfpInfo',
  'setinfo delete-on-close AFP_AfpInfo',
  'setinfo eof AFP_AfpInfo',
  'delete AFP_AfpInfo by writing all 0',
  'create delete-on-close AFP_AfpResource',
  'setinfo delete-on-close AFP_AfpResource',
  'setinfo eof AFP_AfpResource',
  'setinfo eof stream',
  'null afpinfo',
  'delete',
  'read open rsrc after rename',
  'readdir_attr with names with illegal ntfs characters',
  'creating rsrc with read-only access',
  'copy-chunk streams',
  'OS X AppleDouble file conversion',
  'NFS ACE entries',
  'OS X AppleDouble file conversion without embedded xattr',
  'empty_stream',
  'writing_afpinfo',
  'delete_trigger_convert_sharing_violation',
  'invalid AFP_AfpInfo',
];

/**
 * Runs smbtorture suites against a fresh SMB gateway, one test per suite: each must report no
 * failure or error and at least one success. It stays in this file: the test runner names a
 * test by the file its test() call is in, and the hang watchdog matches those names to the file
 * it started (a helper module's tests looked like another, silent file: CI of 1ea2f88).
 */
function tortureSuites(
  title: string,
  suites: readonly string[],
  share: { name: string; config?: string[]; args?: string[] } = { name: 'export' },
): void {
  describe(title, { concurrency: 1 }, () => {
    let g: SmbGateway;
    let scratch: string;
    before(async () => {
      g = await startSmbGateway(share.config ? { shares: share.config } : {});
      await g.user('alice', 'Torture-pw1');
      scratch = makeTempDir('smbtorture');
    });
    after(() => g?.stop());

    for (const [i, suite] of suites.entries()) {
      test(
        `${i + 1} ${suite}: every subtest succeeds (or is skipped by smbtorture)`,
        requireTools('smbtorture'),
        async () => {
          const r = await runCommand(
            toolPath('smbtorture') ?? 'smbtorture',
            [
              `//127.0.0.1/${share.name}`,
              '-p',
              String(g.port),
              '-U',
              'alice%Torture-pw1',
              ...(share.args ?? []),
              suite,
            ],
            { cwd: scratch, timeoutMs: 240_000 },
          );
          const failures = r.stdout.split('\n').filter((l) => /^(failure|error):/.test(l));
          equal(failures.length, 0, `${suite}:\n${failures.join('\n')}\n${r.stdout.slice(-3000)}`);
          ok(/^success:/m.test(r.stdout), r.output.slice(-2000));
          equal(r.code, 0, r.output.slice(-2000));
        },
      );
    }
  });
}

// Five gateways, one per group, run side by side: most of smbtorture's time is spent waiting
// (for a break it must not receive, a notify that must stay pending), so the file takes about
// as long as its longest group instead of all of them in a row (457 s in CI of 2064aa8).
describe('smbtorture (Samba 4.17) against the SMB server', { concurrency: true }, () => {
  tortureSuites('protocol suites', SUITES);
  tortureSuites('locks, sessions, opens and queries', MORE_SUITES);
  tortureSuites(
    'oplocks',
    OPLOCK_TESTS.map((t) => `smb2.oplock.${t}`),
  );
  tortureSuites(
    'leases',
    LEASE_TESTS.map((t) => `smb2.lease.${t}`),
  );
  tortureSuites(
    "Apple's SMB2 extensions (vfs.fruit)",
    FRUIT_TESTS.map((t) => `vfs.fruit.${t}`),
    {
      name: 'mac',
      // "invalid AFP_AfpInfo" writes through a second share of the folder without the extensions.
      config: ['{ name: mac, path: /mac, apple_extensions: true }', '{ name: mac-plain, path: /mac }'],
      args: ['--option=torture:share2=mac-plain'],
    },
  );
});
