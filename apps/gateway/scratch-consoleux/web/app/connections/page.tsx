import { Connections } from './connections.tsx';

export default function ConnectionsPage() {
  return <Connections />;
}
