// Opens a namespace in a fresh process and reports start time and RSS (used by namespace.bench.ts).
import { openNamespace } from '../src/storage/open.ts';

const [dir, path] = process.argv.slice(2);
const t = performance.now();
const ns = await openNamespace({
  metadataUrl: `sqlite://${dir}/meta.db`,
  transportUrl: `file://${dir}/data`,
});
const a = await ns.resolvePath({ uid: 0, gid: 0, gids: [] }, path!);
const ms = performance.now() - t;
console.log(JSON.stringify({ ms, rss: process.memoryUsage.rss(), ino: String(a.ino) }));
await ns.close();
