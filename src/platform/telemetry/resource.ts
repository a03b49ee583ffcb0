// The resource attributes a deployment gives a process through the environment, as the OpenTelemetry
// specification defines them: OTEL_RESOURCE_ATTRIBUTES ("key1=value1,key2=value2", values percent-encoded) and
// OTEL_SERVICE_NAME, which takes precedence over a service.name in the former. A malformed list is refused naming
// the variable (the SDK's own detector drops it silently, and a run's spans then lose their deployment labels).
import { invalidField } from '../../errors.ts';

const VARIABLE = 'OTEL_RESOURCE_ATTRIBUTES';

export function resourceAttributesFromEnv(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  const raw = env[VARIABLE]?.trim() ?? '';
  if (raw) {
    for (const entry of raw.split(',')) {
      if (entry.trim() === '') continue; // "a=b," (templated values often end so)
      const eq = entry.indexOf('=');
      const key = eq < 0 ? '' : entry.slice(0, eq).trim();
      if (!key) throw invalidField(VARIABLE, `expected key=value pairs separated by commas, got '${entry.trim()}'`);
      let value: string;
      try {
        value = decodeURIComponent(entry.slice(eq + 1).trim());
      } catch {
        throw invalidField(VARIABLE, `the value of '${key}' is not valid percent-encoding`);
      }
      out[key] = value;
    }
  }
  const service = env.OTEL_SERVICE_NAME?.trim();
  if (service) out['service.name'] = service;
  return out;
}
