import { Circuits } from './circuits.tsx';

export default function CircuitsPage() {
  return <Circuits />;
}
