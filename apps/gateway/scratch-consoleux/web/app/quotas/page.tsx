import { Quotas } from './quotas.tsx';

export default function QuotasPage() {
  return <Quotas />;
}
