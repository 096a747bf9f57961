/** A heading's anchor: `Backend (A2/A4) Failures` → `backend-a2-a4-failures`. */
export function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}
