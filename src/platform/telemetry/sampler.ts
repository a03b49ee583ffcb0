// The trace sampler a process uses, from the standard OpenTelemetry variables: OTEL_TRACES_SAMPLER (always_on,
// always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio) and
// OTEL_TRACES_SAMPLER_ARG (the ratio in [0, 1]). Default parentbased_always_on: every trace is recorded unless an
// upstream process decided not to sample it. At high throughput, e.g. OTEL_TRACES_SAMPLER=parentbased_traceidratio
// OTEL_TRACES_SAMPLER_ARG=0.01 records 1% of the traces, whole (a trajectory keeps its upstream decision).
import { AlwaysOffSampler, AlwaysOnSampler, ParentBasedSampler, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';
import type { Sampler } from '@opentelemetry/sdk-trace-base';
import { ErrorCategory, RlmeshError } from '../../errors.ts';

export const SamplerName = {
  alwaysOn: 'always_on',
  alwaysOff: 'always_off',
  traceIdRatio: 'traceidratio',
  parentBasedAlwaysOn: 'parentbased_always_on',
  parentBasedAlwaysOff: 'parentbased_always_off',
  parentBasedTraceIdRatio: 'parentbased_traceidratio',
} as const;
export type SamplerName = (typeof SamplerName)[keyof typeof SamplerName];

function ratioOf(arg: string | undefined): number {
  if (arg === undefined || arg.trim() === '') return 1; // the specification's default ratio
  const r = Number(arg);
  if (!Number.isFinite(r) || r < 0 || r > 1) {
    throw new RlmeshError(ErrorCategory.config, `OTEL_TRACES_SAMPLER_ARG: must be a number in [0, 1], got "${arg.slice(0, 40)}"`, { field: 'OTEL_TRACES_SAMPLER_ARG' });
  }
  return r;
}

/** The sampler env names (default parentbased_always_on); an unknown name or a bad ratio is a config error. */
export function samplerFromEnv(env: Readonly<Record<string, string | undefined>>): { name: SamplerName; ratio?: number; sampler: Sampler } {
  const raw = (env.OTEL_TRACES_SAMPLER ?? '').trim().toLowerCase();
  const name = (raw === '' ? SamplerName.parentBasedAlwaysOn : raw) as SamplerName;
  switch (name) {
    case SamplerName.alwaysOn: return { name, sampler: new AlwaysOnSampler() };
    case SamplerName.alwaysOff: return { name, sampler: new AlwaysOffSampler() };
    case SamplerName.parentBasedAlwaysOn: return { name, sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }) };
    case SamplerName.parentBasedAlwaysOff: return { name, sampler: new ParentBasedSampler({ root: new AlwaysOffSampler() }) };
    case SamplerName.traceIdRatio: {
      const ratio = ratioOf(env.OTEL_TRACES_SAMPLER_ARG);
      return { name, ratio, sampler: new TraceIdRatioBasedSampler(ratio) };
    }
    case SamplerName.parentBasedTraceIdRatio: {
      const ratio = ratioOf(env.OTEL_TRACES_SAMPLER_ARG);
      return { name, ratio, sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) }) };
    }
    default:
      throw new RlmeshError(ErrorCategory.config, `OTEL_TRACES_SAMPLER: unknown sampler "${raw.slice(0, 40)}" (${Object.values(SamplerName).join(', ')})`, { field: 'OTEL_TRACES_SAMPLER' });
  }
}
