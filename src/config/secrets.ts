// Refuses secret-looking keys and values in a run config: credentials come from env vars and files only.
import { invalidField } from '../errors.ts';

/** Key segments that name a credential (matched per `_`/`-`-separated word, so `max_new_tokens` is fine). */
const SECRET_KEY = /(^|[_-])(password|passwd|pwd|secret|secrets|credential|credentials|creds|nkey|apikey|bearer|private[_-]key|api[_-]key|access[_-]key)([_-]|$)|(^|[_-])token$/i;

const SECRET_VALUES: Array<[RegExp, string]> = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'a PEM private key'],
  [/^S[UNACOPX][A-Z2-7]{50,}$/, 'an NKEY seed'],
  [/^[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i, 'a URL with a password'],
];

const WHERE = 'secrets never come from the run config: use RLMESH_NATS_USER/RLMESH_NATS_PASSWORD, RLMESH_NATS_TOKEN, RLMESH_NATS_CREDS, RLMESH_NATS_NKEY_SEED_FILE, RLMESH_API_TOKEN or the TLS file variables';

export interface SecretFinding {
  path: string[];
  message: string;
}

/** A run config is a few levels deep; a deeper document is refused (walking it could exhaust the stack). */
const MAX_DEPTH = 32;

/** Walks the raw document; returns the first secret-looking key or value (or a document nested too deep), or null. */
export function findSecret(raw: unknown, path: string[] = []): SecretFinding | null {
  if (path.length > MAX_DEPTH && typeof raw === 'object' && raw !== null) {
    return { path, message: `nested deeper than ${MAX_DEPTH} levels; a run config is a few levels deep` };
  }
  if (Array.isArray(raw)) {
    for (let i = 0; i < raw.length; i++) {
      const hit = findSecret(raw[i], [...path, String(i)]);
      if (hit) return hit;
    }
    return null;
  }
  if (typeof raw === 'string') {
    for (const [re, what] of SECRET_VALUES) if (re.test(raw)) return { path, message: `value looks like ${what}; ${WHERE}` };
    return null;
  }
  if (raw === null || typeof raw !== 'object') return null;
  for (const [key, value] of Object.entries(raw)) {
    const here = [...path, key];
    if (SECRET_KEY.test(key)) return { path: here, message: `key looks like a secret; ${WHERE}` };
    const hit = findSecret(value, here);
    if (hit) return hit;
  }
  return null;
}

/** Throws RlmeshError(config) naming the first secret-looking key or value. */
export function refuseSecrets(raw: unknown): void {
  const hit = findSecret(raw);
  if (hit) throw invalidField(hit.path.join('.') || '(root)', hit.message);
}
