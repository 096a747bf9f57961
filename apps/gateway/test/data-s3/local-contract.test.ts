import { describe } from 'node:test';
import { LocalBlobStore } from '../../src/storage/data/local-blobs.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { dataStoreContract } from './contract.ts';

/** The reference: the local directory store passes the rows the object store is held to. */
describe('DataStore contract: LocalBlobStore', () => {
  dataStoreContract(() => {
    const dir = makeTempDir('local-contract');
    return { open: () => LocalBlobStore.open(dir) };
  }, 64 * 1024);
});
