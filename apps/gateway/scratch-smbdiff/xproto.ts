// Cross-protocol checks: SMB handle open while NFS/S3 look at the file.
import { execFileSync } from 'node:child_process';
import { CMD } from '../src/protocols/smb/constants.ts';
import {
  connectedClient, createBody, fileIdOf, writeBody, readBody, closeBody, setInfoBody, queryInfoBody, outputBuffer,
} from '../test/smb/client.ts';

const PORT = Number(process.env.SMBPORT ?? 31445);
const N = '?nfsport=31049&mountport=31048&version=3&uid=1000&gid=1000';
const env = { ...process.env, AWS_EC2_METADATA_DISABLED: 'true', AWS_ACCESS_KEY_ID: 'CFSB7Z673E5RGBKO3VFA', AWS_SECRET_ACCESS_KEY: 'MLGvKlPSWRcm5seaWybN7p5m3Qwe0jVdwsf8bHKw', AWS_DEFAULT_REGION: 'us-east-1' };
const nfsCat = (p: string) => { try { return execFileSync('nfs-cat', [`nfs://127.0.0.1/export/${p}${N}`], { env, maxBuffer: 1<<26 }); } catch (e) { return Buffer.from(`ERR ${(e as Error).message.split('\n')[0]}`); } };
const s3Get = (k: string) => { try { execFileSync('/usr/bin/aws', ['--endpoint-url', 'http://127.0.0.1:31900', 's3', 'cp', `s3://xbb/${k}`, '/tmp/smbdiff/xp.out'], { env, stdio: 'pipe' }); return execFileSync('cat', ['/tmp/smbdiff/xp.out'], { maxBuffer: 1<<26 }); } catch (e) { return Buffer.from(`ERR ${(e as Error).message.split('\n').slice(0,3).join(' ')}`); } };
const s3 = (...a: string[]) => { try { return execFileSync('/usr/bin/aws', ['--endpoint-url', 'http://127.0.0.1:31900', ...a], { env, stdio: 'pipe' }).toString(); } catch (e) { return `ERR ${(e as Error).message.split('\n').slice(0,3).join(' ')}`; } };
const hex = (n: number) => `0x${n.toString(16)}`;

const c = await connectedClient(PORT, 'smbdiffu', 'Diff-pw-123', { share: 'share', dialects: [0x0202, 0x0210, 0x0300, 0x0302] });

// A: write without close, read over NFS and S3
{
  const r = await c.request({ command: CMD.CREATE, body: createBody('xbb\\open-write.bin', { disposition: 5, access: 0x12019f }) });
  console.log('A create', hex(r.status));
  const fid = fileIdOf(r);
  const data = Buffer.alloc(70000, 0x61);
  const w = await c.request({ command: CMD.WRITE, body: writeBody(fid, 0n, data) , creditCharge: 2});
  console.log('A write', hex(w.status));
  const n = nfsCat('xbb/open-write.bin');
  console.log('A nfs while open: len', n.length, n.equals(data) ? 'identical' : n.subarray(0, 60).toString());
  const s = s3Get('open-write.bin');
  console.log('A s3 while open: len', s.length, s.equals(data) ? 'identical' : s.subarray(0, 100).toString());
  // C: truncate via SET_INFO EndOfFile
  const eof = Buffer.alloc(8); eof.writeBigUInt64LE(10n);
  const si = await c.request({ command: CMD.SET_INFO, body: setInfoBody(fid, 20, eof) });
  console.log('C set eof', hex(si.status));
  console.log('C nfs len after eof=10:', nfsCat('xbb/open-write.bin').length, 's3 len:', s3Get('open-write.bin').length);
  // E: S3 overwrite while open, then SMB read through the old handle
  execFileSync('sh', ['-c', 'printf NEWDATA-FROM-S3 > /tmp/smbdiff/nd.txt']);
  console.log('E s3 put:', s3('s3api', 'put-object', '--bucket', 'xbb', '--key', 'open-write.bin', '--body', '/tmp/smbdiff/nd.txt').replace(/\s+/g, ' ').slice(0, 80));
  const rd = await c.request({ command: CMD.READ, body: readBody(fid, 0n, 100) });
  console.log('E smb read old handle', hex(rd.status), rd.status === 0 ? rd.body.subarray(16 - 0, 16 + rd.body.readUInt32LE(4)).toString() : '');
  const q = await c.request({ command: CMD.QUERY_INFO, body: queryInfoBody(fid, 1, 5) }); // FileStandardInformation
  if (q.status === 0) { const b = outputBuffer(q); console.log('E standard info EOF', b.readBigUInt64LE(8), 'delete pending', b[20]); } else console.log('E qi', hex(q.status));
  const w2 = await c.request({ command: CMD.WRITE, body: writeBody(fid, 0n, Buffer.from('SMBWRITE')) });
  console.log('E smb write old handle', hex(w2.status));
  const cl = await c.request({ command: CMD.CLOSE, body: closeBody(fid) });
  console.log('E close', hex(cl.status));
  console.log('E final s3:', s3Get('open-write.bin').toString(), ' nfs:', nfsCat('xbb/open-write.bin').toString());
}
// F: rename over NFS-ish (S3 can't rename; use SMB second handle?) -> delete via S3 while SMB handle open
{
  const r = await c.request({ command: CMD.CREATE, body: createBody('xbb\\del-while-open.bin', { disposition: 5, access: 0x12019f }) });
  const fid = fileIdOf(r);
  await c.request({ command: CMD.WRITE, body: writeBody(fid, 0n, Buffer.from('0123456789')) });
  console.log('F s3 delete while SMB open:', s3('s3', 'rm', 's3://xbb/del-while-open.bin').trim());
  console.log('F s3 ls after:', s3('s3', 'ls', 's3://xbb/').trim().replace(/\n/g, ' | '));
  const rd = await c.request({ command: CMD.READ, body: readBody(fid, 0n, 100) });
  console.log('F smb read after delete', hex(rd.status), rd.status === 0 ? rd.body.subarray(16, 16 + rd.body.readUInt32LE(4)).toString() : '');
  const w2 = await c.request({ command: CMD.WRITE, body: writeBody(fid, 0n, Buffer.from('after')) });
  console.log('F smb write after delete', hex(w2.status));
  const cl = await c.request({ command: CMD.CLOSE, body: closeBody(fid) });
  console.log('F close', hex(cl.status));
  console.log('F after close s3 ls:', s3('s3', 'ls', 's3://xbb/').trim().replace(/\n/g, ' | '));
}
// G: exclusive SMB open, S3 delete, then another SMB open of the same name; CLOSE of the old handle
{
  const r = await c.request({ command: CMD.CREATE, body: createBody('xbb\\excl.bin', { disposition: 5, access: 0x12019f, share: 0 }) });
  const fid = fileIdOf(r);
  console.log('G exclusive create', hex(r.status));
  console.log('G s3 GET while exclusive open:', s3Get('excl.bin').toString().slice(0, 80));
  console.log('G s3 delete:', s3('s3', 'rm', 's3://xbb/excl.bin').trim());
  const c2 = await connectedClient(PORT, 'smbdiffu', 'Diff-pw-123', { share: 'share' });
  const r2 = await c2.request({ command: CMD.CREATE, body: createBody('xbb\\excl.bin', { disposition: 5, access: 0x12019f, share: 7 }) });
  console.log('G second client create same name', hex(r2.status));
  if (r2.status === 0) await c2.request({ command: CMD.CLOSE, body: closeBody(fileIdOf(r2)) });
  console.log('G smb status before old CLOSE:\n' + execFileSync('sh', ['-c', 'cd /work/main && ./cfs smb status --config /tmp/smbdiff/gw.yaml 2>&1 | tail -8']).toString());
  const cl = await c.request({ command: CMD.CLOSE, body: closeBody(fid) });
  console.log('G old handle CLOSE', hex(cl.status));
  console.log('G smb status after old CLOSE:\n' + execFileSync('sh', ['-c', 'cd /work/main && ./cfs smb status --config /tmp/smbdiff/gw.yaml 2>&1 | tail -8']).toString());
  c2.close();
}
// H: sparse write far away
{
  const r = await c.request({ command: CMD.CREATE, body: createBody('xbb\\far.bin', { disposition: 5, access: 0x12019f }) });
  const fid = fileIdOf(r);
  const w = await c.request({ command: CMD.WRITE, body: writeBody(fid, 5_000_000n, Buffer.from('END')) });
  console.log('H write at 5e6', hex(w.status));
  await c.request({ command: CMD.CLOSE, body: closeBody(fid) });
  const n = nfsCat('xbb/far.bin');
  console.log('H nfs len', n.length, 'tail', n.subarray(n.length - 3).toString(), 'zeros', n.subarray(0, 5_000_000).every((x) => x === 0));
  const s = s3Get('far.bin');
  console.log('H s3 len', s.length, s.equals(n) ? 'identical to nfs' : 'DIFFERENT');
}
c.close();
process.exit(0);
