import { randomBytes } from 'node:crypto';
import { systemId, systemName } from '../../../util/system-ids.ts';
import { EVERYONE, posixIdOf, type Sid, sidString } from '../sids.ts';
import type { OpResult, RpcInterface } from './interface.ts';
import { NdrReader, NdrWriter } from './ndr.ts';

/**
 * lsarpc (MS-LSAT, 12345778-1234-abcd-ef00-0123456789ab v0.0): names for SIDs and SIDs for
 * names, so `smbcquotas`, `smbcacls`, `rpcclient` and the Security tab of Windows show
 * `Unix User\alice` where the wire says S-1-22-1-1000. Users and groups are the control plane's,
 * under Samba's two domains for Unix ids: `Unix User` (S-1-22-1) and `Unix Group` (S-1-22-2).
 */

/** Who the lookups know. */
export interface Directory {
  /** `smb.domain` and `smb.workgroup`: a name qualified with one (or nothing) is a user, else a group. */
  domains: readonly string[];
  users: ReadonlyArray<{ name: string; uid: number }>;
  groups: ReadonlyArray<{ name: string; gid: number }>;
}

const OP = {
  CLOSE: 0,
  OPEN_POLICY: 6,
  LOOKUP_NAMES: 14,
  LOOKUP_SIDS: 15,
  OPEN_POLICY2: 44,
  LOOKUP_SIDS2: 57,
  LOOKUP_NAMES2: 58,
  LOOKUP_NAMES3: 68,
} as const;

/** SID_NAME_USE (MS-LSAT §2.2.13). */
const USE = { USER: 1, DOMAIN_GROUP: 2, WELL_KNOWN_GROUP: 5, UNKNOWN: 8 } as const;

const STATUS = {
  SUCCESS: 0,
  SOME_NOT_MAPPED: 0x0000_0107,
  INVALID_HANDLE: 0xc000_0008,
  NONE_MAPPED: 0xc000_0073,
} as const;

/** At most this many SIDs or names in one lookup (MS-LSAT allows 20,480; clients send few). */
const MAX_LOOKUPS = 1000;

interface Domain {
  name: string;
  sid: Sid;
}

const UNIX_USERS: Domain = { name: 'Unix User', sid: { authority: 22, subAuthorities: [1] } };
const UNIX_GROUPS: Domain = { name: 'Unix Group', sid: { authority: 22, subAuthorities: [2] } };
/** Everyone's domain, the world authority: no name (as Windows answers it). */
const WORLD: Domain = { name: '', sid: { authority: 1, subAuthorities: [] } };

interface Translation {
  domain: Domain;
  name: string;
  use: number;
  /** The last sub-authority (the RID in the domain). */
  rid: number;
  sid: Sid;
}

export function lsarpc(dir: Directory): RpcInterface {
  const handles = new Set<string>();
  const policyHandle = (r: NdrReader) => r.bytes(20, 'PolicyHandle').toString('hex');
  return {
    uuid: '12345778-1234-abcd-ef00-0123456789ab',
    version: 0,
    call(opnum, stub): OpResult {
      try {
        switch (opnum) {
          case OP.OPEN_POLICY:
          case OP.OPEN_POLICY2: {
            // Any caller may look names up: the system name, attributes and access asked for do not matter.
            const handle = Buffer.concat([Buffer.alloc(4), randomBytes(16)]);
            handles.add(handle.toString('hex'));
            return { stub: new NdrWriter().bytes(handle).u32(STATUS.SUCCESS).finish() };
          }
          case OP.CLOSE: {
            const known = handles.delete(policyHandle(new NdrReader(stub)));
            const w = new NdrWriter().bytes(Buffer.alloc(20));
            return { stub: w.u32(known ? STATUS.SUCCESS : STATUS.INVALID_HANDLE).finish() };
          }
          case OP.LOOKUP_SIDS:
          case OP.LOOKUP_SIDS2:
            return { stub: lookupSids(dir, new NdrReader(stub), opnum === OP.LOOKUP_SIDS2, handles) };
          case OP.LOOKUP_NAMES:
          case OP.LOOKUP_NAMES2:
          case OP.LOOKUP_NAMES3:
            return { stub: lookupNames(dir, new NdrReader(stub), opnum, handles) };
          default:
            return { fault: 'op_rng_error' };
        }
      } catch {
        return { fault: 'protocol_error' };
      }
    },
  };
}

/** The name of a SID: a uid's or gid's account (or its number), Everyone; else undefined. */
function nameOfSid(dir: Directory, sid: Sid): Translation | undefined {
  const id = posixIdOf(sid);
  if (id?.kind === 'uid') {
    const name = dir.users.find((u) => u.uid === id.id)?.name ?? systemName('uid', id.id) ?? String(id.id);
    return { domain: UNIX_USERS, name, use: USE.USER, rid: id.id, sid };
  }
  if (id?.kind === 'gid') {
    const name = dir.groups.find((g) => g.gid === id.id)?.name ?? systemName('gid', id.id) ?? String(id.id);
    return { domain: UNIX_GROUPS, name, use: USE.DOMAIN_GROUP, rid: id.id, sid };
  }
  if (sidString(sid) === sidString(EVERYONE)) {
    return { domain: WORLD, name: 'Everyone', use: USE.WELL_KNOWN_GROUP, rid: 0, sid };
  }
  return undefined;
}

/** `name`, `DOMAIN\name`, `Unix User\name` or `Unix Group\name` (a number names an id). */
function sidOfName(dir: Directory, qualified: string): Translation | undefined {
  const slash = qualified.indexOf('\\');
  const domain = slash < 0 ? '' : qualified.slice(0, slash).toLowerCase();
  const name = qualified.slice(slash + 1);
  const lower = name.toLowerCase();
  const user = (): Translation | undefined => {
    const uid = dir.users.find((u) => u.name.toLowerCase() === lower)?.uid ?? systemId('uid', lower);
    return uid === undefined ? undefined : nameOfSid(dir, { authority: 22, subAuthorities: [1, uid] });
  };
  const group = (): Translation | undefined => {
    const gid = dir.groups.find((g) => g.name.toLowerCase() === lower)?.gid ?? systemId('gid', lower);
    return gid === undefined ? undefined : nameOfSid(dir, { authority: 22, subAuthorities: [2, gid] });
  };
  const byNumber = (kind: 1 | 2): Translation | undefined =>
    /^\d{1,10}$/.test(name) && Number(name) <= 0xffff_ffff
      ? nameOfSid(dir, { authority: 22, subAuthorities: [kind, Number(name)] })
      : undefined;
  if (domain === UNIX_USERS.name.toLowerCase()) return user() ?? byNumber(1);
  if (domain === UNIX_GROUPS.name.toLowerCase()) return group() ?? byNumber(2);
  if (domain !== '' && !dir.domains.some((d) => d.toLowerCase() === domain)) return undefined;
  if (domain === '' && lower === 'everyone') return nameOfSid(dir, EVERYONE);
  return user() ?? group();
}

/** The domains the translations name, each once, in order: a translation's DomainIndex points here. */
class ReferencedDomains {
  readonly list: Domain[] = [];

  indexOf(t: Translation | undefined): number {
    if (!t) return -1;
    const at = this.list.indexOf(t.domain);
    if (at >= 0) return at;
    this.list.push(t.domain);
    return this.list.length - 1;
  }

  /** [out] PLSAPR_REFERENCED_DOMAIN_LIST* (MS-LSAT §2.2.12). */
  write(w: NdrWriter): void {
    const n = this.list.length;
    w.pointer(true)
      .u32(n)
      .pointer(n > 0)
      .u32(n);
    if (n === 0) return;
    w.u32(n);
    for (const d of this.list) w.unicodeHeader(d.name).pointer(true);
    for (const d of this.list) w.unicodeBody(d.name).sid(d.sid);
  }
}

function statusOf(mapped: number, total: number): number {
  if (mapped === total) return STATUS.SUCCESS;
  return mapped === 0 ? STATUS.NONE_MAPPED : STATUS.SOME_NOT_MAPPED;
}

/** An [in,out] translation array must come in empty; its entries are the server's to fill. */
function readEmptyTranslations(r: NdrReader, field: string): void {
  r.u32(`${field}.Entries`);
  if (r.u32(`${field}.Pointer`) !== 0) throw new Error(`${field} must be empty`);
}

function checkCount(n: number, field: string): void {
  if (n > MAX_LOOKUPS) throw new Error(`${field}: ${n} entries`);
}

/**
 * What follows a lookup's input: the [in,out] translations (empty), LookupLevel, MappedCount
 * and, in the later versions, LookupOptions and ClientRevision.
 */
function readLookupTail(r: NdrReader, translations: string, ex: boolean): void {
  readEmptyTranslations(r, translations);
  r.u16('LookupLevel');
  r.u32('MappedCount');
  if (ex) {
    r.u32('LookupOptions');
    r.u32('ClientRevision');
  }
}

/**
 * A lookup's answer: the referenced domains, the translation array (`entry` writes each
 * element's fixed part, `deferred` what the elements point to), MappedCount and the status;
 * for an unknown policy handle, nothing and STATUS_INVALID_HANDLE.
 */
function lookupAnswer(
  known: boolean,
  found: ReadonlyArray<Translation | undefined>,
  entry: (w: NdrWriter, t: Translation | undefined, domainIndex: number, i: number) => void,
  deferred: (w: NdrWriter) => void,
): Buffer {
  const w = new NdrWriter();
  if (!known) return w.pointer(false).u32(0).pointer(false).u32(0).u32(STATUS.INVALID_HANDLE).finish();
  const domains = new ReferencedDomains();
  const indexes = found.map((t) => domains.indexOf(t));
  domains.write(w);
  w.u32(found.length).pointer(found.length > 0);
  if (found.length > 0) {
    w.u32(found.length);
    found.forEach((t, i) => {
      entry(w, t, indexes[i]!, i);
    });
    deferred(w);
  }
  const mapped = found.filter(Boolean).length;
  return w.u32(mapped).u32(statusOf(mapped, found.length)).finish();
}

/** LsarLookupSids (opnum 15, MS-LSAT §3.1.4.11) and LsarLookupSids2 (57, §3.1.4.10). */
function lookupSids(dir: Directory, r: NdrReader, ex: boolean, handles: Set<string>): Buffer {
  const handle = r.bytes(20, 'PolicyHandle').toString('hex');
  const entries = r.u32('SidEnumBuffer.Entries');
  checkCount(entries, 'SidEnumBuffer');
  const sids: Sid[] = [];
  if (r.u32('SidEnumBuffer.SidInfo') !== 0) {
    if (r.u32('SidInfo.MaxCount') !== entries) throw new Error('SidInfo conformance');
    const present = Array.from({ length: entries }, (_, i) => r.u32(`SidInfo[${i}].Sid`) !== 0);
    for (const [i, p] of present.entries()) {
      if (!p) throw new Error(`SidInfo[${i}] is null`);
      sids.push(r.sid(`SidInfo[${i}]`));
    }
  } else if (entries !== 0) throw new Error('SidEnumBuffer without SIDs');
  readLookupTail(r, 'TranslatedNames', ex);
  // An unknown SID reads as itself.
  const nameOf = (t: Translation | undefined, i: number) => t?.name ?? sidString(sids[i]!);
  const found = sids.map((sid) => nameOfSid(dir, sid));
  return lookupAnswer(
    handles.has(handle),
    found,
    (w, t, domainIndex, i) => {
      // LSAPR_TRANSLATED_NAME(_EX): Use, Name, DomainIndex (and Flags).
      w.u32(t?.use ?? USE.UNKNOWN)
        .unicodeHeader(nameOf(t, i))
        .u32(domainIndex);
      if (ex) w.u32(0);
    },
    (w) => {
      found.forEach((t, i) => {
        w.unicodeBody(nameOf(t, i));
      });
    },
  );
}

/**
 * LsarLookupNames (opnum 14, MS-LSAT §3.1.4.8), LsarLookupNames2 (58, §3.1.4.7) and
 * LsarLookupNames3 (68, §3.1.4.6): each name's SID — as its domain and RID, or whole (3).
 */
function lookupNames(dir: Directory, r: NdrReader, opnum: number, handles: Set<string>): Buffer {
  const handle = r.bytes(20, 'PolicyHandle').toString('hex');
  const count = r.u32('Count');
  checkCount(count, 'Names');
  if (r.u32('Names.MaxCount') !== count) throw new Error('Names conformance');
  const headers = Array.from({ length: count }, (_, i) => r.unicodeHeader(`Names[${i}]`));
  const names = headers.map((h, i) => r.unicodeBody(h, `Names[${i}]`));
  readLookupTail(r, 'TranslatedSids', opnum !== OP.LOOKUP_NAMES);
  const whole = opnum === OP.LOOKUP_NAMES3;
  const found = names.map((n) => sidOfName(dir, n));
  return lookupAnswer(
    handles.has(handle),
    found,
    (w, t, domainIndex) => {
      // LSAPR_TRANSLATED_SID: Use, RelativeId, DomainIndex; _EX adds Flags; _EX2 has the SID itself.
      w.u32(t?.use ?? USE.UNKNOWN);
      if (whole) w.pointer(t !== undefined);
      else w.u32(t?.rid ?? 0);
      w.u32(domainIndex);
      if (opnum !== OP.LOOKUP_NAMES) w.u32(0);
    },
    (w) => {
      if (whole) for (const t of found) if (t) w.sid(t.sid);
    },
  );
}
