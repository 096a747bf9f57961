import { z } from 'zod';
import { adminProcedure, router, viewerProcedure } from '../trpc.ts';
import type { CertificatesReport, CertificateUploadResult } from '../types/certs.ts';

/** PEM text as pasted; the gateway runs the checks `gateway start` runs before writing anything. */
export const uploadInput = z.object({
  cert: z
    .string()
    .includes('-----BEGIN CERTIFICATE-----', { message: 'cert must be a PEM certificate' })
    .max(60_000),
  key: z
    .string()
    .regex(/-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'key must be a PEM private key')
    .max(60_000),
});

/** The S3 listener's TLS pair: what it serves, and replacing it without a restart. */
export const certsRouter = router({
  status: viewerProcedure.query(({ ctx }): Promise<CertificatesReport> => ctx.control.certificates()),
  upload: adminProcedure
    .meta({
      audit: {
        action: 'certs.replace',
        target: () => 's3.tls',
        // The certificate is public but long; the key is secret. Neither goes into the log.
        detail: (i) => ({ certChars: typeof i.cert === 'string' ? i.cert.length : 0 }),
      },
    })
    .input(uploadInput)
    .mutation(({ ctx, input }): Promise<CertificateUploadResult> => ctx.control.uploadCertificate(input)),
});
