import { Buckets } from './buckets.tsx';

export default function BucketsPage() {
  return <Buckets />;
}
