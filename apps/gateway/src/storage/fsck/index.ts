export { ETAG_CHANGE_XATTR, ETAG_MD5_XATTR } from './checksum-check.ts';
export { LOST_AND_FOUND } from './repair.ts';
export {
  FsckError,
  type FsckInfo,
  type FsckProblem,
  type FsckProgress,
  type FsckReport,
  type ProblemKind,
} from './report.ts';
export { type FsckOptions, runFsck } from './run-fsck.ts';
