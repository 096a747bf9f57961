// The admin API paths behind `./cfs smb`, apart from the routes (admin-route.ts) so that the CLI
// names them without loading the SMB server.

export const SMB_STATUS_PATH = '/admin/smb/status';
export const SMB_CLOSE_PATH = '/admin/smb/close';
export const SMB_END_SESSION_PATH = '/admin/smb/end-session';
