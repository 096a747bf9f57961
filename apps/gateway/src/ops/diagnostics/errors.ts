/**
 * A refusal of a diagnostics request, with the HTTP status the admin API answers; the tRPC
 * layer maps it to the matching code (400 BAD_REQUEST, 404 NOT_FOUND …).
 */
export class DiagnosticsError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 404 | 409 | 412 = 400,
  ) {
    super(message);
  }
}
