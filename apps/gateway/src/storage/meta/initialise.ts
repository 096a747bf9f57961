import { insertInode } from './entries.ts';
import { addUsage } from './ledger.ts';
import { ROOT_INO, type TxContext } from './model.ts';
import { get, type Program, run } from './program.ts';

/**
 * Creates the root directory in an empty store; refuses a schema newer than this code's, and
 * marks an older one (whose tables the schema SQL has just completed) as this version, so an
 * older gateway no longer opens it.
 */
export function* initialise(ctx: TxContext, schemaVersion: number): Program<void> {
  const version = yield* get<{ value: string }>('getMeta', 'schema_version');
  if (version && Number(version.value) > schemaVersion) {
    throw new Error(
      `metadata schema ${version.value} is newer than this gateway understands (${schemaVersion})`,
    );
  }
  if (yield* get('getInode', ROOT_INO)) {
    if (version && Number(version.value) < schemaVersion)
      yield* run('setMeta', 'schema_version', String(schemaVersion));
    return;
  }
  const { ino } = yield* insertInode(ctx, {
    type: 'dir',
    mode: 0o755,
    nlink: 2,
    uid: 0,
    gid: 0,
    parent: ROOT_INO,
  });
  if (ino !== ROOT_INO)
    throw new Error(`the root directory got inode ${ino}, not ${ROOT_INO}: is the store empty?`);
  yield* addUsage(0, 0, 0n, 1n);
  yield* run('setMeta', 'schema_version', String(schemaVersion));
  yield* run('setMeta', 'created', String(ctx.now()));
}
