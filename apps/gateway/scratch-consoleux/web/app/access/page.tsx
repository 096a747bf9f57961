import { Access } from './access.tsx';

export default function AccessPage() {
  return <Access />;
}
