/**
 * Names with characters Windows does not allow, as macOS and Windows' Services for Macintosh
 * carry them over SMB: each of `" * : < > ? \ |` and the controls 0x01–0x1F travels as a
 * character of the Unicode private-use range (U+F001–U+F01F, U+F020–U+F027). A share with
 * apple_extensions stores them as the characters they stand for (Samba's vfs_catia with
 * vfs_fruit's map), so a Mac's "Notes 10:30" is `Notes 10:30` to NFS and S3 too, and a file
 * NFS or S3 named so is listed to SMB clients in the private-use form they can open.
 */
const TO_DISK = new Map<string, string>();
const TO_WIRE = new Map<string, string>();
for (let c = 0x01; c <= 0x1f; c++) {
  TO_DISK.set(String.fromCharCode(0xf000 + c), String.fromCharCode(c));
}
for (const [i, c] of [...'"*:<>?\\|'].entries()) TO_DISK.set(String.fromCharCode(0xf020 + i), c);
for (const [wire, disk] of TO_DISK) TO_WIRE.set(disk, wire);

const mapped = (name: string, map: ReadonlyMap<string, string>) => {
  let out = '';
  for (const c of name) out += map.get(c) ?? c;
  return out;
};

/** One name component as the client sent it → as stored. */
export const macNameToDisk = (name: string): string =>
  /[\uf001-\uf027]/.test(name) ? mapped(name, TO_DISK) : name;

/** One stored name → as SMB clients are shown it. */
export const macNameToWire = (name: string): string => mapped(name, TO_WIRE);

/** A share-relative path of stored names joined with "\\" → its components shown to SMB clients. */
export const macPathToWire = (path: string): string => path.split('\\').map(macNameToWire).join('\\');
