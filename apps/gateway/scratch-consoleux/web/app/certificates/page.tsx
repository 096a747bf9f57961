import { codeBlocks, runbookSection } from '../../lib/runbook.ts';
import { Certificates } from './certificates.tsx';

export default function CertificatesPage() {
  const commands = [
    ...codeBlocks(runbookSection('TLS Certificates')),
    ...codeBlocks(runbookSection('TLS Certificate Issues')),
  ];
  return <Certificates commands={commands} />;
}
