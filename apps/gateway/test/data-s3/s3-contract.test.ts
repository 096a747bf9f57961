import { after, before, describe } from 'node:test';
import { dataStoreContract } from './contract.ts';
import { type StoreServer, startStoreServer } from './store-server.ts';

describe('DataStore contract: S3DataStore over a real S3 server (64 KiB chunks)', () => {
  let server: StoreServer;
  let n = 0;
  before(async () => {
    server = await startStoreServer();
  });
  after(() => server.stop());
  dataStoreContract(() => {
    const prefix = `contract-${++n}`;
    return { open: () => server.open(prefix, { chunkSize: 64 * 1024 }) };
  }, 64 * 1024);
});
