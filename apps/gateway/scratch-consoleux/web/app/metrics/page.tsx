import { Metrics } from './metrics.tsx';

export default function MetricsPage() {
  return <Metrics />;
}
