/**
 * Who may reach what, over each protocol, as the running configuration says (`config.access`):
 * the console's Access page. Read from the configuration a gateway runs, so a reload shows at
 * once; changing any of it is editing the file and reloading.
 */
export interface AccessReport {
  nfs: {
    served: boolean;
    exports: Array<{
      path: string;
      /** As written: networks, addresses, host names. */
      clients: string[];
      access: 'rw' | 'ro';
      squash: 'root' | 'all' | 'none';
      anon: string;
      /** Calls only from ports below 1024. */
      secure: boolean;
    }>;
  };
  smb: {
    served: boolean;
    signingRequired: boolean;
    /** smb.encryption: off | if_required | desired | required. */
    encryption: string;
    /** smb.map_to_guest: never | bad_user. */
    mapToGuest: string;
    shares: Array<{
      name: string;
      path: string;
      readOnly: boolean;
      /** Empty: any authenticated user. */
      validGroups: string[];
      /** Empty: any host. */
      hostsAllow: string[];
      guestOk: boolean;
      /** What applies: the share's own or the server's, whichever asks for more. */
      encryption: string;
      /** apple_extensions: Apple's SMB2 extensions for Macs. */
      appleExtensions: boolean;
      /** time_machine: a Time Machine backup disk; its size limit in bytes (null: the disk's). */
      timeMachine: { maxBytes: number | null } | null;
    }>;
  };
  s3: {
    served: boolean;
    https: boolean;
    /** `s3.public_read_buckets` as the file lists them. */
    publicReadBuckets: string[];
    /**
     * What anyone may read without a key now, bucket by bucket: by the file's list (unless the
     * bucket's public access block ignores it) or by the bucket's own policy.
     */
    readableWithoutKey: Array<{ bucket: string; by: 'file' | 'policy' }>;
    /** `s3.cors_origins`: the rule of buckets without their own. */
    corsOrigins: string[];
    /** Buckets with their own CORS rules (PutBucketCors), and the origins those allow. */
    bucketCors: Array<{ bucket: string; origins: string[] }>;
  };
  /** What deserves a look, each with the key that changes it. */
  notes: AccessNote[];
}

export interface AccessNote {
  level: 'warning' | 'info';
  text: string;
  /** The configuration key: `nfs.exports.0.squash`, `s3.tls`. */
  key: string;
}
