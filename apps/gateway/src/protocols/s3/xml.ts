import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { S3Error } from './deps.ts';

export const XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n';
export const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/';

const ESC: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  '\r': '&#13;',
  '\n': '&#10;',
  '\t': '&#9;',
};
const NEEDS_ESC = /[&<>"'\r\n\t]/;
const ESC_ALL = /[&<>"'\r\n\t]/g;
/**
 * Characters XML 1.0 cannot carry at all (S3 keys may hold them): written as character
 * references, as S3 does; clients that need them exactly ask for encoding-type=url.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching the control characters is the point
const NOT_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/;
const NOT_XML_ALL = new RegExp(NOT_XML.source, 'g');

export function esc(s: string): string {
  const t = NEEDS_ESC.test(s) ? s.replace(ESC_ALL, (c) => ESC[c]!) : s;
  return NOT_XML.test(t) ? t.replace(NOT_XML_ALL, (c) => `&#${c.charCodeAt(0)};`) : t;
}

/** `<Tag>value</Tag>`, escaped; nothing for undefined. */
export function el(tag: string, value: string | number | boolean | undefined): string {
  if (value === undefined) return '';
  return `<${tag}>${typeof value === 'string' ? esc(value) : String(value)}</${tag}>`;
}

export function doc(root: string, inner: string): string {
  return `${XML_HEAD}<${root} xmlns="${S3_NS}">${inner}</${root}>`;
}

/** ISO 8601 with milliseconds, as S3 XML dates are written. */
export function isoDate(ns: bigint | number): string {
  const ms = typeof ns === 'bigint' ? Number(ns / 1_000_000n) : ns;
  return new Date(ms).toISOString();
}

/** S3's `encoding-type=url`: the key percent-encoded like a URL path component (slashes kept). */
export function urlEncodeKey(s: string): string {
  return encodeURIComponent(s)
    .replace(/%2F/g, '/')
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

// ---- parsing request bodies -------------------------------------------------------------------

/** Request bodies the server parses are small; larger ones are refused before parsing. */
export const MAX_XML_BYTES = 2 * 1024 * 1024;

/** Elements a request document may repeat: always read as lists, one or many. */
const REPEATED: ReadonlySet<string> = new Set([
  'Object',
  'Part',
  'Tag',
  'Rule',
  'CORSRule',
  'AllowedMethod',
  'AllowedOrigin',
  'AllowedHeader',
  'ExposeHeader',
  'Grant',
]);

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: false,
  processEntities: true,
  htmlEntities: true,
  ignoreDeclaration: true,
  maxNestedTags: 16,
  isArray: (name) => REPEATED.has(name),
});

type XmlNode = Record<string, unknown>;

/** Parses a well-formed XML document with one root; MalformedXML for anything else. */
export function parseXml(text: string, root: string): XmlNode {
  if (text.length === 0) throw malformed('empty body');
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw malformed('DTDs are not accepted');
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw malformed(valid.err.msg);
  let parsed: XmlNode;
  try {
    parsed = parser.parse(text) as XmlNode;
  } catch (e) {
    throw malformed((e as Error).message);
  }
  const keys = Object.keys(parsed).filter((k) => k !== '?xml');
  if (keys.length !== 1 || keys[0] !== root) throw malformed(`the root element must be ${root}`);
  const node = parsed[root];
  return typeof node === 'object' && node !== null ? (node as XmlNode) : {};
}

export function malformed(detail?: string): S3Error {
  return new S3Error(
    'MalformedXML',
    `The XML you provided was not well-formed or did not validate against our published schema${detail ? ` (${detail})` : ''}.`,
  );
}

/** A child element's text; objects and arrays are schema errors. */
export function text(node: XmlNode, tag: string): string | undefined {
  const v = node[tag];
  if (v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && Object.keys(v).length === 0) return '';
  throw malformed(`<${tag}> must hold text`);
}

/** A repeated text element's values (REPEATED names only), in order; none: an empty list. */
export function texts(node: XmlNode, tag: string): string[] {
  const v = node[tag];
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw malformed(`<${tag}> in the wrong place`);
  return v.map((x) => {
    if (typeof x === 'string') return x;
    if (typeof x === 'object' && x !== null && Object.keys(x).length === 0) return '';
    throw malformed(`<${tag}> must hold text`);
  });
}

export function list(node: XmlNode, tag: string): XmlNode[] {
  const v = node[tag];
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw malformed(`<${tag}> in the wrong place`);
  return v.map((x) => {
    if (typeof x !== 'object' || x === null) throw malformed(`<${tag}> must hold elements`);
    return x as XmlNode;
  });
}

// ---- the two request documents ----------------------------------------------------------------

export interface DeleteRequest {
  quiet: boolean;
  objects: Array<{
    key: string;
    versionId?: string;
    /** A conditional delete's <ETag>, <Size>, <LastModifiedTime> (delete-condition.ts), as sent. */
    condition?: { etag?: string; size?: string; lastModified?: string };
  }>;
}

/** `POST ?delete` body (at most 1,000 objects). */
export function parseDeleteRequest(body: string): DeleteRequest {
  const root = parseXml(body, 'Delete');
  const quietText = text(root, 'Quiet');
  if (quietText !== undefined && !/^(true|false)$/i.test(quietText.trim()))
    throw malformed('<Quiet> must be true or false');
  const objects = list(root, 'Object').map((o) => {
    const key = text(o, 'Key');
    if (key === undefined) throw malformed('<Object> without <Key>');
    const versionId = text(o, 'VersionId');
    // A conditional delete of this key (delete-condition.ts): kept as sent.
    const condition = {
      etag: text(o, 'ETag'),
      size: text(o, 'Size'),
      lastModified: text(o, 'LastModifiedTime'),
    };
    const conditional = Object.values(condition).some((v) => v !== undefined);
    return { key, ...(versionId === undefined ? {} : { versionId }), ...(conditional ? { condition } : {}) };
  });
  if (objects.length === 0) throw malformed('no <Object>');
  if (objects.length > 1000) throw malformed('more than 1000 objects');
  return { quiet: quietText?.trim().toLowerCase() === 'true', objects };
}

export interface CompletePart {
  partNumber: number;
  etag: string;
}

/** `POST ?uploadId` body. The ETag is kept as sent, minus quotes. */
export function parseCompleteRequest(body: string): CompletePart[] {
  const root = parseXml(body, 'CompleteMultipartUpload');
  const parts = list(root, 'Part').map((p) => {
    const n = text(p, 'PartNumber')?.trim();
    const etag = text(p, 'ETag');
    if (n === undefined || !/^\d{1,5}$/.test(n)) throw malformed('<PartNumber> must be a number');
    if (etag === undefined) throw malformed('<Part> without <ETag>');
    return { partNumber: Number(n), etag: unquote(etag.trim()) };
  });
  if (parts.length === 0) throw malformed('no <Part>');
  if (parts.length > 10000) throw malformed('more than 10000 parts');
  return parts;
}

export function unquote(etag: string): string {
  return etag.replace(/^(&quot;|")|("|&quot;)$/g, '');
}
