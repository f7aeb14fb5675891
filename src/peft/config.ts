/**
 * LoraConfig with PEFT's fields and PEFT's rules (peft/tuners/lora/config.py `LoraConfig`,
 * peft/config.py `PeftConfig`), read from camelCase objects or PEFT's snake_case
 * adapter_config.json, and written back as PEFT writes it (`toPeftJson`).
 *
 *   const { config, warnings } = parseLoraConfig(JSON.parse(text), 'adapter_config.json');
 *   const json = toPeftJson(config); // round-trips a PEFT adapter_config.json
 *
 * Numbers must be JSON numbers: PEFT writes `"r": 8`, so `"8"` is a mistake worth naming.
 * Fields PEFT knows but webpeft does not act on are carried through unchanged when their
 * value leaves LoRA's maths alone (`megatron_core`, `use_dora: false` ...), and refused
 * when it does not (`use_dora: true`). Unknown fields are kept and warned about, as PEFT
 * itself does for fields from newer versions (peft/config.py `_check_and_remove_unused_kwargs`).
 */
import { fullmatch, pyRegex } from './pyregex.js';

export const TASK_TYPES = ['SEQ_CLS', 'SEQ_2_SEQ_LM', 'CAUSAL_LM', 'TOKEN_CLS', 'QUESTION_ANS', 'FEATURE_EXTRACTION'] as const;
/** peft/utils/peft_types.py `TaskType`. */
export type TaskType = (typeof TASK_TYPES)[number];
export type LoraBias = 'none' | 'all' | 'lora_only';
/** PEFT's `init_lora_weights` values webpeft implements. */
export type LoraInitWeights = boolean | 'gaussian';

export interface LoraConfig {
  peftType: 'LORA';
  taskType?: TaskType;
  baseModelNameOrPath?: string;
  revision?: string;
  inferenceMode: boolean;
  /** Rank (default 8). */
  r: number;
  /** Scaling numerator (default 8): scaling = alpha / r, or alpha / √r with `useRslora`. */
  loraAlpha: number;
  loraDropout: number;
  /** Module names (exact or `.`-suffix match), a regex string (full match), or 'all-linear'. */
  targetModules?: string[] | string;
  /** Same forms as `targetModules`; wins over it. */
  excludeModules?: string[] | string;
  layersToTransform?: number | number[];
  layersPattern?: string | string[];
  /** Module pattern → rank; the first key (in order) matching `(.*\.)?(key)$` wins. */
  rankPattern: Record<string, number>;
  /** Module pattern → alpha; matched like `rankPattern`. */
  alphaPattern: Record<string, number>;
  fanInFanOut: boolean;
  bias: LoraBias;
  modulesToSave?: string[];
  useRslora: boolean;
  initLoraWeights: LoraInitWeights;
  /** PEFT fields webpeft does not act on, at values that change nothing here; snake_case, written back as given. */
  peftFields: Record<string, unknown>;
  /** Fields neither PEFT's LoraConfig nor webpeft knows, as given; written back by `toPeftJson`. */
  unknown: Record<string, unknown>;
}

export interface ParsedLoraConfig {
  config: LoraConfig;
  /** Unknown fields, PEFT fields that are ignored, and the like: worth showing, never fatal. */
  warnings: string[];
}

/** A config PEFT would refuse, or one webpeft cannot honour. The message names the field. */
export class LoraConfigError extends Error {
  override name = 'LoraConfigError';
}

/** PEFT's `init_lora_weights` methods that need the base weights or data (PiSSA, OLoRA, LoftQ, EVA, CorDA ...). */
const UNSUPPORTED_INITS = /^(pissa(_niter_\d+)?|olora|loftq|eva|corda|orthogonal)$/;

type Check = (v: unknown, at: string) => unknown;

/** The fields webpeft models, by PEFT's snake_case name. */
const FIELDS: Record<string, Check> = {
  peft_type: (v, at) => {
    if (v !== 'LORA') fail(at, 'peft type "LORA" (webpeft implements LoRA only)', v);
    return v;
  },
  task_type: (v, at) => oneOf(v, at, TASK_TYPES),
  base_model_name_or_path: (v, at) => str(v, at),
  revision: (v, at) => str(v, at),
  inference_mode: (v, at) => bool(v, at),
  r: (v, at) => posInt(v, at),
  lora_alpha: (v, at) => num(v, at),
  lora_dropout: (v, at) => {
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) fail(at, 'a number in [0, 1]', v);
    return v;
  },
  target_modules: (v, at) => namesOrRegex(v, at),
  exclude_modules: (v, at) => namesOrRegex(v, at),
  layers_to_transform: (v, at) => {
    if (Array.isArray(v) && v.every(isIndex)) return v;
    if (!isIndex(v)) fail(at, 'a layer index or a list of them', v);
    return v;
  },
  layers_pattern: (v, at) => (typeof v === 'string' ? v : strList(v, at, 'a string or a list of strings')),
  rank_pattern: (v, at) => dict(v, at, (x, a) => posInt(x, a)),
  alpha_pattern: (v, at) => dict(v, at, (x, a) => num(x, a)),
  fan_in_fan_out: (v, at) => bool(v, at),
  bias: (v, at) => oneOf(v, at, ['none', 'all', 'lora_only']),
  modules_to_save: (v, at) => strList(v, at, 'a list of module names'),
  use_rslora: (v, at) => bool(v, at),
  init_lora_weights: (v, at) => {
    if (typeof v === 'string' && UNSUPPORTED_INITS.test(v)) {
      throw new LoraConfigError(`${at}: init_lora_weights ${JSON.stringify(v)} is not supported yet (webpeft has true, false and "gaussian")`);
    }
    if (typeof v !== 'boolean' && v !== 'gaussian') fail(at, 'true, false or "gaussian"', v);
    return v;
  },
};

/** Defaults of PeftConfig / LoraConfig for the modeled fields that have one. */
const DEFAULTS = {
  inference_mode: false, r: 8, lora_alpha: 8, lora_dropout: 0, rank_pattern: {}, alpha_pattern: {},
  fan_in_fan_out: false, bias: 'none', use_rslora: false, init_lora_weights: true,
} as const;

/** Fields PEFT types Optional (null = unset); the others must hold a value when present. */
const NULLABLE = new Set([
  'peft_type', 'task_type', 'base_model_name_or_path', 'revision', 'target_modules', 'exclude_modules',
  'layers_to_transform', 'layers_pattern', 'rank_pattern', 'alpha_pattern', 'modules_to_save',
]);

/**
 * PEFT LoraConfig fields webpeft does not act on. `inert` tells whether a value leaves
 * plain LoRA unchanged; other values are refused, naming the feature.
 */
const PEFT_ONLY: Record<string, { inert: (v: unknown) => boolean; feature?: string; ignored?: (v: unknown) => boolean }> = {
  auto_mapping: { inert: () => true },
  peft_version: { inert: () => true },
  megatron_config: { inert: () => true }, // only read for Megatron's parallel linear layers
  megatron_core: { inert: () => true },
  qalora_group_size: { inert: () => true },
  ensure_weight_tying: { inert: () => true }, // ties adapters of tied embeddings, which are never targets here
  // PEFT drops these with a warning unless init_lora_weights names them (refused above).
  loftq_config: { inert: () => true, ignored: (v) => !isEmpty(v) },
  eva_config: { inert: () => true, ignored: (v) => !isEmpty(v) },
  corda_config: { inert: () => true, ignored: (v) => !isEmpty(v) },
  use_dora: { inert: (v) => v === false || v == null, feature: 'DoRA (use_dora)' },
  use_qalora: { inert: (v) => v === false || v == null, feature: 'QALoRA (use_qalora)' },
  lora_bias: { inert: (v) => v === false || v == null, feature: 'a bias on lora_B (lora_bias)' },
  layer_replication: { inert: isEmpty, feature: 'layer replication (layer_replication)' },
  trainable_token_indices: { inert: isEmpty, feature: 'trainable tokens (trainable_token_indices)' },
  target_parameters: { inert: isEmpty, feature: 'LoRA on parameters (target_parameters)' },
  alora_invocation_tokens: { inert: isEmpty, feature: 'activated LoRA (alora_invocation_tokens)' },
  arrow_config: { inert: isEmpty, feature: 'Arrow routing (arrow_config)' },
};

/**
 * Reads a LoraConfig from PEFT's adapter_config.json (snake_case) or camelCase fields,
 * filling PEFT's defaults and applying its checks (LoraConfig.__post_init__). Also takes
 * its own output back. `source` prefixes every message (a file name reads well there).
 */
export function parseLoraConfig(input: object, source = 'LoraConfig'): ParsedLoraConfig {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new LoraConfigError(`${source}: expected an object of LoraConfig fields, got ${describeValue(input)}`);
  }
  const warnings: string[] = [];
  const given = new Map<string, { key: string; value: unknown }>(); // snake name → as given
  const peftFields: Record<string, unknown> = {};
  const unknown: Record<string, unknown> = {};
  for (const [key, value] of entries(input as Record<string, unknown>)) {
    const snake = key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    const at = `${source}.${key}`;
    if (Object.hasOwn(FIELDS, snake)) {
      const prev = given.get(snake);
      if (prev && JSON.stringify(prev.value) !== JSON.stringify(value)) {
        throw new LoraConfigError(`${source}: ${prev.key} and ${key} are the same field with different values (${describeValue(prev.value)}, ${describeValue(value)})`);
      }
      given.set(snake, { key, value });
    } else if (snake === 'runtime_config') {
      warnings.push(`${at} is ignored: runtime configurations are not saved or restored (as in PEFT)`);
    } else if (Object.hasOwn(PEFT_ONLY, snake)) {
      const spec = PEFT_ONLY[snake];
      if (!spec.inert(value)) throw new LoraConfigError(`${at}: ${spec.feature} is not supported yet (got ${describeValue(value)})`);
      if (spec.ignored?.(value)) warnings.push(`${at} is ignored: init_lora_weights does not use it (PEFT ignores it too)`);
      peftFields[snake] = value;
    } else {
      setOwn(unknown, key, value);
      warnings.push(`${at} is not a LoraConfig field; it is kept (config.unknown) but has no effect`);
    }
  }
  const field = (snake: string): unknown => {
    const g = given.get(snake);
    if (!g || (g.value === null && NULLABLE.has(snake))) return (DEFAULTS as Record<string, unknown>)[snake];
    return FIELDS[snake](g.value, `${source}.${g.key}`);
  };
  field('peft_type');
  // PEFT ≥ 0.14 writes `exclude_modules: null`; keep it so the file round-trips.
  if (given.get('exclude_modules')?.value === null) peftFields.exclude_modules = null;

  const config: LoraConfig = {
    peftType: 'LORA',
    ...opt('taskType', field('task_type') as TaskType | undefined),
    ...opt('baseModelNameOrPath', field('base_model_name_or_path') as string | undefined),
    ...opt('revision', field('revision') as string | undefined),
    inferenceMode: field('inference_mode') as boolean,
    r: field('r') as number,
    loraAlpha: field('lora_alpha') as number,
    loraDropout: field('lora_dropout') as number,
    ...opt('targetModules', field('target_modules') as LoraConfig['targetModules']),
    ...opt('excludeModules', field('exclude_modules') as LoraConfig['excludeModules']),
    ...opt('layersToTransform', field('layers_to_transform') as LoraConfig['layersToTransform']),
    ...opt('layersPattern', field('layers_pattern') as LoraConfig['layersPattern']),
    rankPattern: { ...(field('rank_pattern') as Record<string, number>) },
    alphaPattern: { ...(field('alpha_pattern') as Record<string, number>) },
    fanInFanOut: field('fan_in_fan_out') as boolean,
    bias: field('bias') as LoraBias,
    ...opt('modulesToSave', field('modules_to_save') as string[] | undefined),
    useRslora: field('use_rslora') as boolean,
    initLoraWeights: field('init_lora_weights') as LoraInitWeights,
    peftFields,
    unknown,
  };
  const name = (snake: string) => `${source}.${given.get(snake)?.key ?? snake}`;
  checkCombinations(config, name);
  checkPatterns(config, name);
  return { config, warnings };
}

/**
 * PEFT's adapter_config.json for `config`: snake_case, keys sorted (PEFT saves with
 * sort_keys=True), `null` for unset fields, and the fields every PEFT since 0.10 writes
 * (so older PEFT versions read it too). Fields carried in `peftFields` and, unless
 * `unknown: false`, in `unknown` are written back as they came.
 */
export function toPeftJson(config: LoraConfig | object, opts: { unknown?: boolean } = {}): Record<string, unknown> {
  const c = parseLoraConfig(config).config;
  const out: Record<string, unknown> = {
    auto_mapping: null,
    layer_replication: null,
    loftq_config: {},
    megatron_config: null,
    megatron_core: 'megatron.core',
    use_dora: false,
    ...c.peftFields,
    alpha_pattern: c.alphaPattern,
    base_model_name_or_path: c.baseModelNameOrPath ?? null,
    bias: c.bias,
    fan_in_fan_out: c.fanInFanOut,
    inference_mode: c.inferenceMode,
    init_lora_weights: c.initLoraWeights,
    layers_pattern: c.layersPattern ?? null,
    layers_to_transform: c.layersToTransform ?? null,
    lora_alpha: c.loraAlpha,
    lora_dropout: c.loraDropout,
    modules_to_save: c.modulesToSave ?? null,
    peft_type: 'LORA',
    r: c.r,
    rank_pattern: c.rankPattern,
    revision: c.revision ?? null,
    target_modules: c.targetModules ?? null,
    task_type: c.taskType ?? null,
    use_rslora: c.useRslora,
  };
  if (c.excludeModules !== undefined) out.exclude_modules = c.excludeModules;
  if (opts.unknown !== false) for (const [k, v] of Object.entries(c.unknown)) if (!Object.hasOwn(out, k)) setOwn(out, k, v);
  return Object.fromEntries(Object.keys(out).sort().map((k) => [k, out[k]]));
}

/** LoraConfig.__post_init__'s checks on field combinations, in PEFT's words. */
function checkCombinations(c: LoraConfig, name: (snake: string) => string): void {
  const regexTargets = typeof c.targetModules === 'string';
  if (regexTargets && c.layersToTransform !== undefined) {
    throw new LoraConfigError(`${name('layers_to_transform')}: \`layers_to_transform\` cannot be used when \`target_modules\` is a str.`);
  }
  if (regexTargets && c.layersPattern !== undefined) {
    throw new LoraConfigError(`${name('layers_pattern')}: \`layers_pattern\` cannot be used when \`target_modules\` is a str.`);
  }
  // PEFT tests `layers_pattern and not layers_to_transform` with Python truthiness, so
  // layers_to_transform = 0 counts as missing there: [0] is the spelling PEFT accepts.
  const truthy = (v: unknown) => v !== undefined && v !== 0 && v !== '' && !(Array.isArray(v) && v.length === 0);
  if (truthy(c.layersPattern) && !truthy(c.layersToTransform)) {
    const zero = c.layersToTransform === 0 ? ' (PEFT reads 0 as unset here: write [0])' : '';
    throw new LoraConfigError(`${name('layers_pattern')}: When \`layers_pattern\` is specified, \`layers_to_transform\` must also be specified.${zero}`);
  }
}

/** Compiles every regex the matcher will build, so a bad one is reported against its field now. */
function checkPatterns(c: LoraConfig, name: (snake: string) => string): void {
  const tryRe = (field: string, make: () => RegExp) => {
    try {
      make();
    } catch (err) {
      throw new LoraConfigError(`${field}: ${(err as Error).message}`);
    }
  };
  if (typeof c.targetModules === 'string' && c.targetModules.toLowerCase() !== 'all-linear') {
    tryRe(name('target_modules'), () => fullmatch(c.targetModules as string));
  }
  if (typeof c.excludeModules === 'string') tryRe(name('exclude_modules'), () => fullmatch(c.excludeModules as string));
  for (const m of c.modulesToSave ?? []) tryRe(`${name('modules_to_save')}[${JSON.stringify(m)}]`, () => modulesToSaveRegex(m));
  for (const p of [c.layersPattern ?? []].flat()) tryRe(`${name('layers_pattern')}[${JSON.stringify(p)}]`, () => layersPatternRegex(p));
  for (const k of Object.keys(c.rankPattern)) tryRe(`${name('rank_pattern')}[${JSON.stringify(k)}]`, () => patternKeyRegex(k));
  for (const k of Object.keys(c.alphaPattern)) tryRe(`${name('alpha_pattern')}[${JSON.stringify(k)}]`, () => patternKeyRegex(k));
}

/** peft/utils/other.py `get_pattern_key`: `re.match(rf"(.*\.)?({key})$", module_name)`. */
export const patternKeyRegex = (key: string) => pyRegex(key, (p) => `^(.*\\.)?(${p})$`);
/** tuners_utils.py `check_target_module_exists`: `re.match(rf"(^|.*\.){m}($|\..*)", key)` (the module and its children). */
export const modulesToSaveRegex = (m: string) => pyRegex(m, (p) => `^(^|.*\\.)${p}($|\\..*)`);
/** tuners_utils.py `check_target_module_exists`: `re.match(rf".*?\.{pattern}\.(\d+)\.", key)`. */
export const layersPatternRegex = (pattern: string) => pyRegex(pattern, (p) => `^.*?\\.${p}\\.(\\d+)\\.`);

// ───────────────────────── value checks ─────────────────────────

function entries(input: Record<string, unknown>): [string, unknown][] {
  // Our own output coming back: its carried fields are spread out again.
  const { peftFields, unknown, ...rest } = input;
  const spread = (v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.entries(v) : []);
  const isOwn = isRecord(peftFields) || isRecord(unknown);
  if (!isOwn) return Object.entries(input).filter(([, v]) => v !== undefined);
  return [...Object.entries(rest), ...spread(peftFields), ...spread(unknown)].filter(([, v]) => v !== undefined);
}

function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function fail(at: string, expected: string, got: unknown): never {
  throw new LoraConfigError(`${at}: expected ${expected}, got ${describeValue(got)}`);
}

/** `"8"`, `8`, `null`, `[1,"a"]`, `{"q_proj":4}`; long values cut. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  let s: string;
  try {
    s = JSON.stringify(v) ?? typeof v;
  } catch {
    s = typeof v;
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** `o[key] = value`, also for a key like `__proto__` that JSON.parse can hand us. */
function setOwn(o: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

const isRecord = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const isIndex = (v: unknown) => Number.isInteger(v) && (v as number) >= 0;

function isEmpty(v: unknown): boolean {
  return v == null || (Array.isArray(v) && v.length === 0) || (isRecord(v) && Object.keys(v).length === 0);
}

function bool(v: unknown, at: string): boolean {
  if (typeof v !== 'boolean') fail(at, 'true or false', v);
  return v;
}

function str(v: unknown, at: string): string {
  if (typeof v !== 'string') fail(at, 'a string', v);
  return v;
}

function posInt(v: unknown, at: string): number {
  if (!Number.isInteger(v) || (v as number) <= 0) fail(at, 'a positive integer', v);
  return v as number;
}

function num(v: unknown, at: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(at, 'a number', v);
  return v;
}

function oneOf<T extends string>(v: unknown, at: string, values: readonly T[]): T {
  if (!values.includes(v as T)) fail(at, `one of ${values.map((x) => JSON.stringify(x)).join(', ')}`, v);
  return v as T;
}

function strList(v: unknown, at: string, expected: string): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) fail(at, expected, v);
  return [...v];
}

function namesOrRegex(v: unknown, at: string): string | string[] {
  return typeof v === 'string' ? v : strList(v, at, 'a list of module names, a regex string or "all-linear"');
}

function dict(v: unknown, at: string, check: (x: unknown, at: string) => number): Record<string, number> {
  if (!isRecord(v)) fail(at, 'an object mapping module patterns to numbers', v);
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, check(x, `${at}[${JSON.stringify(k)}]`)]));
}
