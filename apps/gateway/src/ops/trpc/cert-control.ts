import { X509Certificate } from 'node:crypto';
import type { CertificatesReport, CertificateUploadResult, GatewayControl } from '@claudefs/api';
import { TRPCError } from '@trpc/server';
import type { Gateway } from '../../daemon/gateway.ts';
import { certsFeature, currentTls } from '../certs/feature.ts';
import { installPair } from '../certs/install.ts';
import { certificatesStatus, configuredCertificates } from '../certs/status.ts';

type CertControl = Pick<GatewayControl, 'certificates' | 'uploadCertificate'>;

function servedSerial(gw: Gateway): string | null {
  const tls = currentTls(gw);
  return tls ? new X509Certificate(tls.cert).serialNumber : null;
}

/** `GET /admin/certs`'s report: the configured pairs as the files are now, and what is served. */
async function report(gw: Gateway): Promise<CertificatesReport> {
  const serial = servedSerial(gw);
  const statuses = await certificatesStatus(gw.config);
  return {
    certificates: statuses.map((s) => ({
      ...s,
      served: serial !== null && serial === s.serial ? { serial } : null,
    })),
  };
}

/**
 * The S3 listener's certificate: status, and replacement by upload. An uploaded pair goes
 * through `installPair` (the checks `gateway start` runs; nothing is written when one fails),
 * then the certificates feature reloads it as on SIGHUP, so new handshakes get it at once.
 */
export function certControl(gw: Gateway): CertControl {
  return {
    certificates: () => report(gw),
    async uploadCertificate(upload): Promise<CertificateUploadResult> {
      const target = configuredCertificates(gw.config)[0];
      if (!target) {
        throw new TRPCError({
          code: 'PRECONDITION_FAILED',
          message: 's3.tls is not configured (or S3 is disabled): set s3.tls.cert and s3.tls.key first',
        });
      }
      const installed = installPair(target, upload);
      const errors = installed.findings.filter((f) => f.severity === 'error');
      if (!installed.installed) {
        throw new TRPCError({
          code: 'BAD_REQUEST',
          message: `certificate refused; nothing was written: ${errors.map((f) => f.message).join('; ')}`,
        });
      }
      gw.log.info({ cert: target.cert }, 'certificate uploaded through the console; reloading it');
      await certsFeature.reload?.(gw);
      const uploaded = new X509Certificate(upload.cert).serialNumber;
      if (servedSerial(gw) !== uploaded) {
        throw new Error('the pair was written but is not served; see the gateway log for why');
      }
      return { reloaded: true, warnings: installed.findings, ...(await report(gw)) };
    },
  };
}
