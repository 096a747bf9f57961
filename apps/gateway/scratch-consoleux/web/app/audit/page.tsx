import { Audit } from './audit.tsx';

export default function AuditPage() {
  return <Audit />;
}
