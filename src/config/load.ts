import { configSchema, type Config } from './schema.ts';

/** ConfigError carries every problem found in the environment, one per line. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/**
 * loadConfig validates the environment. Empty strings count as unset, so a
 * copied `.env.example` with blank values behaves like the defaults.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const input: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value !== '') input[key] = value;
  }
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`));
  }
  return parsed.data;
}

/** isHttps tells whether Postern is served over https, which decides cookie flags and HSTS. */
export function isHttps(config: Config): boolean {
  return config.PUBLIC_URL?.startsWith('https://') ?? false;
}
