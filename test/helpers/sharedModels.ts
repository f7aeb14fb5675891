/**
 * The third-party models in ../shared/models (see its README). Suites that use them skip
 * with one visible line when the folder is absent; WEBPEFT_REQUIRE_SHARED_MODELS=1 (CI)
 * makes that a failure instead.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const SHARED_MODELS = fileURLToPath(new URL('../../../shared/models/', import.meta.url));

export function sharedModel(rel: string): string {
  return SHARED_MODELS + rel;
}

/** True when the suite must skip; prints why (or throws when the models are required). */
export function skipWithoutSharedModels(suite: string): boolean {
  if (existsSync(SHARED_MODELS)) return false;
  const msg = `${SHARED_MODELS} not found`;
  if (process.env.WEBPEFT_REQUIRE_SHARED_MODELS === '1') throw new Error(`WEBPEFT_REQUIRE_SHARED_MODELS=1 but ${msg}`);
  console.warn(`[webpeft tests] ${suite} SKIPPED: ${msg}`);
  return true;
}
